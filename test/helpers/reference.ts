import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { repoRoot } from './director-process.js';

/**
 * The reference corpus (real manifests, ops-files, ARM examples) lives beside the repository, in
 * ../shared/reference, or wherever $REFERENCE_DIR says. A fresh clone has none: tests that need it
 * are skipped with a message that says so, except under CI=true, where it is required.
 */
export const referenceDir = process.env['REFERENCE_DIR'] || resolve(repoRoot, '..', 'shared', 'reference');

export const referencePresent = existsSync(referenceDir);

/**
 * For node:test's `skip` option: false when the corpus is there, else why the test is skipped.
 * With CI=true a missing corpus is a failure (thrown when the test file loads), never a skip.
 */
export function needsReference(): false | string {
  if (referencePresent) return false;
  if (process.env['CI'] === 'true')
    throw new Error(
      `The reference corpus is required when CI=true, and '${referenceDir}' does not exist (set REFERENCE_DIR)`,
    );
  return `skipped outside CI: the reference corpus '${referenceDir}' is not there (set REFERENCE_DIR to run it)`;
}
