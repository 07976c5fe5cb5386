import { CpiError, CpiFault as LocalFault } from '../cpi-error.js';
import type { CpiMethod } from '../cpi-error.js';

/** A failure the local CPI detected itself (one class for every CPI). */
export { CpiFault as LocalFault, notFound } from '../cpi-error.js';

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
