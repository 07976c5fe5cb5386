import { createPipelineRequest } from '@azure/core-rest-pipeline';
import type { PipelineRequest, PipelineResponse } from '@azure/core-rest-pipeline';

/** The CPI's clock: how long to wait, and what time it is (ms). Tests scale both with ARM's. */
export interface ArmClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemArmClock: ArmClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** The subset of an SDK client the requests go through: its pipeline (credential, retries, counting). */
export interface PipelineSender {
  sendRequest(request: PipelineRequest): Promise<PipelineResponse>;
}

/** An ARM error answer (4xx/5xx), shaped like the SDK's RestError for the one error mapper. */
export class ArmRestError extends Error {
  readonly statusCode: number;
  readonly code: string;
  readonly details: { error: { code: string; message: string } };
  readonly retryAfterMs: number | undefined;
  constructor(statusCode: number, code: string, message: string, retryAfterMs: number | undefined) {
    super(message);
    this.name = 'ArmRestError';
    this.statusCode = statusCode;
    this.code = code;
    this.details = { error: { code, message } };
    this.retryAfterMs = retryAfterMs;
  }
}

/** A long-running operation that ended Failed or Canceled, with ARM's error code. */
export class ArmOperationError extends Error {
  readonly code: string;
  /** 'Failed' or 'Canceled', as the operation status resource said. */
  readonly status: string;
  readonly details: { error: { code: string; message: string } };
  constructor(status: string, code: string, message: string) {
    super(`${message} (the long-running operation ended ${status})`);
    this.name = 'ArmOperationError';
    this.status = status;
    this.code = code;
    this.details = { error: { code, message: this.message } };
  }
}

/** What ARM answered. */
export interface ArmAnswer {
  readonly status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- ARM bodies are plain JSON
  readonly body: any;
  readonly header: (name: string) => string | undefined;
}

/**
 * Answers that mean "another operation holds this resource; the same request will work later",
 * retried here with backoff and Retry-After (bosh-azure-cpi retries the same codes):
 * 409 AnotherOperationInProgress (ARM RPC: a conflicting operation in progress), 429
 * RetryableErrorDueToAnotherOperation (Network).
 */
const RETRY_LATER = new Set([
  'AnotherOperationInProgress',
  'RetryableErrorDueToAnotherOperation',
  'OperationPreempted',
]);

export interface ArmRequestOptions {
  /** Poll interval when ARM sends no Retry-After (ms, default 5000). */
  readonly pollIntervalMs?: number;
  /** How often a request is repeated while another operation holds its resource (default 8). */
  readonly conflictRetries?: number;
  /** First backoff for those (ms, default 2000), doubled each time, capped at 30 s. */
  readonly conflictBackoffMs?: number;
  /** Counts polls of long-running operations. */
  readonly onPoll?: () => void;
}

/**
 * ARM requests as the CPI sends them where its request budget matters: through an SDK client's
 * pipeline (token, transport retries, throttling), answered by ARM's own rules, not the SDK
 * poller's: a PUT answered Succeeded is done (no poll), a long-running operation is polled when
 * its Retry-After says (also before the first poll) at its Azure-AsyncOperation (else Location)
 * URL, and its end is its status (no final GET). Source: ARM RPC async-api-reference.md.
 */
export class ArmRequests {
  private readonly pollIntervalMs: number;
  private readonly conflictRetries: number;
  private readonly conflictBackoffMs: number;

  constructor(
    private readonly sender: PipelineSender,
    private readonly endpoint: string,
    private readonly clock: ArmClock,
    private readonly options: ArmRequestOptions = {},
  ) {
    this.pollIntervalMs = options.pollIntervalMs ?? 5000;
    this.conflictRetries = options.conflictRetries ?? 8;
    this.conflictBackoffMs = options.conflictBackoffMs ?? 2000;
  }

  private url(pathOrUrl: string, apiVersion?: string): string {
    const base = /^https?:\/\//.test(pathOrUrl) ? pathOrUrl : `${this.endpoint.replace(/\/$/, '')}${pathOrUrl}`;
    if (apiVersion === undefined) return base;
    return `${base}${base.includes('?') ? '&' : '?'}api-version=${encodeURIComponent(apiVersion)}`;
  }

  /** One request, answered (errors thrown as ArmRestError); conflicts are waited out and repeated. */
  async send(method: string, path: string, apiVersion: string | undefined, body?: unknown): Promise<ArmAnswer> {
    for (let attempt = 0; ; attempt++) {
      const answer = await this.once(method, this.url(path, apiVersion), body);
      if (answer.status < 400) return answer;
      const err = toRestError(answer);
      if (RETRY_LATER.has(err.code) && attempt < this.conflictRetries) {
        const backoff = Math.min(30_000, this.conflictBackoffMs * 2 ** attempt);
        await this.clock.sleep(Math.max(backoff, err.retryAfterMs ?? 0));
        continue;
      }
      throw err;
    }
  }

  private async once(method: string, url: string, body: unknown): Promise<ArmAnswer> {
    const request = createPipelineRequest({ url, method: method as PipelineRequest['method'] });
    if (body !== undefined) {
      request.body = JSON.stringify(body);
      request.headers.set('Content-Type', 'application/json');
    }
    const response = await this.sender.sendRequest(request);
    let parsed: unknown;
    if (response.bodyAsText !== undefined && response.bodyAsText !== null && response.bodyAsText !== '') {
      try {
        parsed = JSON.parse(response.bodyAsText);
      } catch {
        parsed = undefined;
      }
    }
    return { status: response.status, body: parsed, header: (name) => response.headers.get(name) ?? undefined };
  }

  /**
   * Follows the long-running operation an answer started, if any, to its end: waits as
   * Retry-After says (else the poll interval), polls, and throws ArmOperationError for Failed or
   * Canceled. A PUT whose body already says Succeeded (a NIC) is done without a poll.
   */
  async settle(answer: ArmAnswer, method: string): Promise<void> {
    const asyncUrl = answer.header('azure-asyncoperation');
    const locationUrl = answer.header('location');
    const state = answer.body?.properties?.provisioningState as string | undefined;
    if (method === 'PUT' && answer.status < 300 && state === 'Succeeded') return;
    if (asyncUrl === undefined && (locationUrl === undefined || answer.status !== 202)) return;
    let wait = retryAfterMs(answer) ?? this.pollIntervalMs;
    for (;;) {
      await this.clock.sleep(wait);
      this.options.onPoll?.();
      const poll = await this.once('GET', asyncUrl ?? (locationUrl as string), undefined);
      if (asyncUrl !== undefined) {
        if (poll.status >= 400) throw toRestError(poll);
        const status = String(poll.body?.status ?? '');
        if (/^succeeded$/i.test(status)) return;
        if (/^(failed|canceled|cancelled)$/i.test(status)) {
          const e = poll.body?.error ?? {};
          throw new ArmOperationError(
            /^fail/i.test(status) ? 'Failed' : 'Canceled',
            String(e.code ?? status),
            String(e.message ?? `The operation ended ${status}.`),
          );
        }
      } else {
        if (poll.status === 200 || poll.status === 201 || poll.status === 204) return;
        if (poll.status >= 400) {
          const err = toRestError(poll);
          throw new ArmOperationError('Failed', err.code, err.message);
        }
      }
      wait = retryAfterMs(poll) ?? this.pollIntervalMs;
    }
  }

  /** `send` then `settle`: the whole request, long-running or not. */
  async run(method: string, path: string, apiVersion: string, body?: unknown): Promise<ArmAnswer> {
    const answer = await this.send(method, path, apiVersion, body);
    await this.settle(answer, method);
    return answer;
  }
}

function retryAfterMs(answer: ArmAnswer): number | undefined {
  const v = answer.header('retry-after');
  if (v === undefined) return undefined;
  const s = Number(v);
  if (Number.isFinite(s) && s >= 0) return s * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

function toRestError(answer: ArmAnswer): ArmRestError {
  const e = answer.body?.error ?? {};
  const code = typeof e.code === 'string' ? e.code : answer.status === 404 ? 'NotFound' : `HTTP${answer.status}`;
  const message = typeof e.message === 'string' ? e.message : `ARM answered ${answer.status}`;
  return new ArmRestError(answer.status, code, message, retryAfterMs(answer));
}
