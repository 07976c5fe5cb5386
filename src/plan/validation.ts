import type { z } from 'zod';
import { DirectorError } from '../errors.js';

/** One problem found in a document, with the path inside it (`instance_groups[1].jobs[0].release`). */
export interface Problem {
  readonly path: string;
  readonly message: string;
}

/** Every problem of a document at once; the message names the file and each path. */
export class ValidationError extends DirectorError {
  constructor(
    readonly what: string,
    readonly problems: readonly Problem[],
  ) {
    super(`${what}: ${problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message)).join('; ')}`);
    this.name = 'ValidationError';
  }
}

/** `['instance_groups', 1, 'jobs', 0]` → `instance_groups[1].jobs[0]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out ? `.${String(seg)}` : String(seg);
  }
  return out;
}

/** Turns zod issues into problems with BOSH-flavoured wording. */
export function problemsFromZod(issues: readonly z.core.$ZodIssue[], prefix: readonly PropertyKey[] = []): Problem[] {
  const out: Problem[] = [];
  for (const issue of issues) {
    const path = formatPath([...prefix, ...issue.path]);
    out.push({ path, message: describeIssue(issue) });
  }
  return out;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type': {
      const received = /received (\w+)/.exec(issue.message)?.[1];
      if (received === 'undefined') return 'is required';
      return `expected ${issue.expected}${received ? `, found ${received}` : ''}`;
    }
    case 'too_small':
      return issue.origin === 'array' ? `expected at least ${String(issue.minimum)} item(s)` : `expected at least ${String(issue.minimum)}`;
    case 'invalid_union':
      return issue.message === 'Invalid input' ? 'has an unexpected form' : issue.message;
    default:
      return issue.message;
  }
}
