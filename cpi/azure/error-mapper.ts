import { CpiError, CpiFault as AzureFault } from '../cpi-error.js';
import type { CpiMethod, CpiResource } from '../cpi-error.js';

/** A failure the Azure CPI detected itself (one class for every CPI). */
export { CpiFault as AzureFault, notFound } from '../cpi-error.js';

/** `InvalidCloudProperties`, the message naming the property. */
export function invalid(message: string): AzureFault {
  return new AzureFault('InvalidCloudProperties', message);
}

/** What an Azure SDK error carries (RestError from the pipeline, or an LRO's failure). */
export interface AzureErrorInfo {
  readonly status: number | undefined;
  readonly code: string | undefined;
  readonly message: string;
}

/** Reads status, Azure error code and message from whatever the SDK threw. */
export function azureErrorInfo(err: unknown): AzureErrorInfo {
  const e = (typeof err === 'object' && err !== null ? err : {}) as {
    statusCode?: unknown;
    status?: unknown;
    code?: unknown;
    message?: unknown;
    details?: { error?: { code?: unknown; message?: unknown } };
    response?: { status?: unknown };
  };
  const status =
    typeof e.statusCode === 'number'
      ? e.statusCode
      : typeof e.response?.status === 'number'
        ? e.response.status
        : undefined;
  const code =
    typeof e.details?.error?.code === 'string' ? e.details.error.code : typeof e.code === 'string' ? e.code : undefined;
  const message =
    typeof e.details?.error?.message === 'string'
      ? e.details.error.message
      : typeof e.message === 'string'
        ? e.message
        : String(err);
  // core-lro reports a Failed long-running operation as a plain Error: "...has failed. <code>. <message>"
  const lro =
    code === undefined ? /^The long-running operation has failed\. ([A-Za-z0-9_.]+)\. ([\s\S]*)$/.exec(message) : null;
  if (lro !== null) return { status, code: lro[1], message: `${lro[2] as string} (the long-running operation failed)` };
  return { status, code, message };
}

/** Whether an SDK error says the resource (or its group) does not exist. */
export function isAzureNotFound(err: unknown): boolean {
  if (err instanceof AzureFault) return err.kind === 'NotFound';
  const { status, code } = azureErrorInfo(err);
  return status === 404 || code === 'ResourceNotFound' || code === 'NotFound' || code === 'ResourceGroupNotFound';
}

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'REQUEST_SEND_ERROR',
]);
const QUOTA_CODES = new Set([
  'OperationNotAllowed',
  'QuotaExceeded',
  'SkuNotAvailable',
  'AllocationFailed',
  'ZonalAllocationFailed',
  'OverconstrainedAllocationRequest',
]);

/**
 * The Azure CPI's one error mapper: every method's failure goes through here on its way out,
 * carrying Azure's error code and message. Our own faults keep their kind; 429 (after the SDK's
 * Retry-After retries ran out) is `Throttled`; 404 is `NotFound` for the resource the call was
 * about; quota and capacity refusals of create_vm are `VmCreationFailed` not to retry as is;
 * 5xx and connection failures are retryable.
 */
export function toCpiError(
  method: CpiMethod,
  err: unknown,
  about?: { readonly resource: CpiResource; readonly cid: string },
): CpiError {
  if (err instanceof CpiError) return err;
  if (err instanceof AzureFault) {
    const kind = method === 'create_vm' && err.kind === 'Unknown' ? 'VmCreationFailed' : err.kind;
    return new CpiError(method, kind, err.message, {
      ...(err.okToRetry === undefined ? {} : { okToRetry: err.okToRetry }),
      ...(err.resource === undefined ? {} : { resource: err.resource }),
    });
  }
  const { status, code, message } = azureErrorInfo(err);
  const detail = code === undefined ? message : `${code}: ${message}`;
  if (status === 429 || code === 'TooManyRequests' || code === 'SubscriptionRequestsThrottled')
    return new CpiError(method, 'Throttled', detail);
  if (status === 404 && about !== undefined)
    return new CpiError(method, 'NotFound', detail, { resource: about.resource });
  const transient =
    (status !== undefined && status >= 500) ||
    (code !== undefined && NETWORK_CODES.has(code)) ||
    code === 'RetryableError' ||
    code === 'InternalExecutionError';
  if (method === 'create_vm')
    return new CpiError(method, 'VmCreationFailed', detail, {
      okToRetry: transient && !(code !== undefined && QUOTA_CODES.has(code)),
    });
  return new CpiError(method, 'Unknown', detail, { okToRetry: transient });
}

/**
 * Codes of a failed or canceled operation that may simply be issued again (bosh-azure-cpi
 * retries the same): transient failures, and operations preempted or canceled by another one.
 */
const TRANSIENT_ASYNC_CODES = new Set([
  'InternalExecutionError',
  'RetryableError',
  'InternalServerError',
  'OperationPreempted',
  'Canceled',
  'RetryableErrorDueToAnotherOperation',
  'AnotherOperationInProgress',
]);

/**
 * Whether an error (or one of its causes) is a long-running operation that ended Failed with a
 * transient code: the operation may be issued again (bosh-azure-cpi's AzureAsynInternalError).
 */
export function isTransientAsyncFailure(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 10; e = e.cause, depth++) {
    if (e.name === 'ArmOperationError')
      return (
        (e as Error & { status?: string }).status === 'Canceled' ||
        TRANSIENT_ASYNC_CODES.has((e as Error & { code?: string }).code ?? '')
      );
    // core-lro ends a Canceled operation with this plain Error
    if (e.message === 'Operation was canceled') return true;
    // core-lro ends a Failed or Canceled operation whose status carries an error with that error's
    // code and message (e.g. OperationPreempted when a resource group delete is preempted)
    const code = (e as Error & { code?: unknown }).code;
    if (typeof code === 'string' && TRANSIENT_ASYNC_CODES.has(code)) return true;
    const m = /^The long-running operation has failed\. ([A-Za-z0-9_.]+)\./.exec(e.message);
    if (m !== null) return TRANSIENT_ASYNC_CODES.has(m[1] as string);
  }
  return false;
}
