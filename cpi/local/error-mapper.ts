import { CpiError } from '../cpi-error.js';
import type { CpiErrorKind, CpiMethod, CpiResource } from '../cpi-error.js';

/** A failure the local CPI detected itself, already knowing its kind. */
export class LocalFault extends Error {
  constructor(
    readonly kind: CpiErrorKind,
    message: string,
    readonly resource?: CpiResource,
    readonly okToRetry?: boolean,
  ) {
    super(message);
    this.name = 'LocalFault';
  }
}

/** `NotFound` for a resource, in one wording. */
export function notFound(resource: CpiResource, cid: string): LocalFault {
  const noun = { vm: 'VM', disk: 'Disk', snapshot: 'Snapshot', stemcell: 'Stemcell', load_balancer: 'Load balancer' }[resource];
  return new LocalFault('NotFound', `${noun} '${cid}' not found`, resource);
}

/**
 * The local CPI's one error mapper: every method's failure goes through here on its way out.
 * Our own faults keep their kind; a failed create_vm is `VmCreationFailed` (retryable unless the
 * address is taken); full disks are `NoDiskSpace`; the rest is `Unknown`.
 */
export function toCpiError(method: CpiMethod, err: unknown): CpiError {
  if (err instanceof CpiError) return err;
  if (err instanceof LocalFault) {
    const kind = method === 'create_vm' && err.kind === 'Unknown' ? 'VmCreationFailed' : err.kind;
    return new CpiError(method, kind, err.message, {
      ...(err.okToRetry === undefined ? {} : { okToRetry: err.okToRetry }),
      ...(err.resource === undefined ? {} : { resource: err.resource }),
    });
  }
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return new CpiError(method, 'NoDiskSpace', message);
  if (method === 'create_vm') {
    const taken = code === 'EADDRINUSE' || /EADDRINUSE|EADDRNOTAVAIL/.test(message);
    return new CpiError(method, 'VmCreationFailed', message, { okToRetry: !taken });
  }
  const transient = code === 'EMFILE' || code === 'ENFILE' || code === 'EAGAIN';
  return new CpiError(method, 'Unknown', message, { okToRetry: transient });
}
