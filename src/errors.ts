/**
 * The one error type of the director. Each layer wraps what it was doing around the cause, the
 * way bosh-cli does ("Deploying: Creating instance 'master/0': Creating VM: ..."), and the CLI
 * prints the whole chain on one line.
 */
export class DirectorError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DirectorError';
  }
}

/** Wraps `cause` with what was being done, e.g. `wrap('Creating VM', err)`. */
export function wrap(doing: string, cause: unknown): DirectorError {
  return new DirectorError(doing, { cause });
}

/** "Doing A: Doing B: what went wrong", one line, following `cause` links. */
export function formatErrorChain(err: unknown): string {
  const parts: string[] = [];
  let cur: unknown = err;
  const seen = new Set<unknown>();
  while (cur !== undefined && cur !== null && !seen.has(cur)) {
    seen.add(cur);
    if (cur instanceof Error) {
      if (cur.message) parts.push(cur.message);
      cur = (cur as { cause?: unknown }).cause;
    } else {
      parts.push(String(cur));
      break;
    }
  }
  return parts.join(': ').replace(/\s*\n\s*/g, ' ');
}
