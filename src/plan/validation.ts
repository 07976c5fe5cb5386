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

/**
 * `['instance_groups', 1, 'jobs', 0]` → `instance_groups[1].jobs[0]`; given the document, a list
 * item with a name is named instead of counted, as an operator looks for it:
 * `instance_groups 'worker'.jobs 'kubelet'`.
 */
export function formatPath(path: readonly PropertyKey[], doc?: unknown): string {
  let out = '';
  let cur: unknown = doc;
  for (const seg of path) {
    const item = typeof seg === 'number' && Array.isArray(cur) ? (cur[seg] as unknown) : undefined;
    const name =
      item !== null && typeof item === 'object' && !Array.isArray(item)
        ? (item as Record<string, unknown>)['name']
        : undefined;
    if (typeof seg === 'number') out += typeof name === 'string' && name !== '' ? ` '${name}'` : `[${seg}]`;
    else out += out ? `.${String(seg)}` : String(seg);
    cur = cur !== null && typeof cur === 'object' ? (cur as Record<PropertyKey, unknown>)[seg as never] : undefined;
  }
  return out;
}

/** The place of list item `index` under `key`: `instance_groups 'worker'`, or `instance_groups[3]` when it has no name. */
export function itemPath(key: string, index: number, name: string | undefined): string {
  return name ? `${key} '${name}'` : `${key}[${index}]`;
}

/** Turns zod issues into problems with BOSH-flavoured wording; `doc` lets paths name list items. */
export function problemsFromZod(
  issues: readonly z.core.$ZodIssue[],
  prefix: readonly PropertyKey[] = [],
  doc?: unknown,
): Problem[] {
  const out: Problem[] = [];
  for (const issue of issues) {
    const path = formatPath([...prefix, ...issue.path], doc === undefined ? undefined : prefixed(prefix, doc));
    out.push({ path, message: describeIssue(issue) });
  }
  return out;
}

function prefixed(prefix: readonly PropertyKey[], doc: unknown): unknown {
  let wrapped = doc;
  for (const seg of [...prefix].reverse())
    wrapped = typeof seg === 'number' ? Object.assign([], { [seg]: wrapped }) : { [seg]: wrapped };
  return wrapped;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type': {
      const received = /received (\w+)/.exec(issue.message)?.[1];
      if (received === 'undefined') return 'is required';
      return `expected ${issue.expected}${received ? `, found ${received}` : ''}`;
    }
    case 'too_small':
      return issue.origin === 'array'
        ? `expected at least ${String(issue.minimum)} item(s)`
        : `expected at least ${String(issue.minimum)}`;
    case 'invalid_union':
      return issue.message === 'Invalid input' ? 'has an unexpected form' : issue.message;
    default:
      return issue.message;
  }
}
