import { DirectorError } from '../../errors.js';
import { RemoveOp } from '../patch/remove-op.js';
import { Pointer } from '../patch/pointer.js';
import { rootToken } from '../patch/tokens.js';
import type { YamlValue } from '../value.js';
import { CERTIFICATE_KEY_LENGTHS } from './key-lengths.js';
import { interpolate } from './interpolation.js';
import { variableDefinitions } from './variable-definitions.js';
import type { VariableDefinition, VariableStore, Variables } from './variables.js';
import { VarsTracker, newEvaluationContext, type EvaluationContext } from './vars-tracker.js';

export interface EvaluateOptions {
  /** Values from the command line; they win over the store. */
  readonly vars: Variables;
  /** Where declared variables are found, and generated into when missing (`--vars-store`). */
  readonly store?: VariableStore | undefined;
  /** `--var-errs`: fail, listing every name that was not found. */
  readonly expectAllKeys?: boolean | undefined;
  /** `--var-errs-unused`: fail, listing every given or stored name that was never asked for. */
  readonly expectAllVarsUsed?: boolean | undefined;
  /** The clock certificates are dated by (default: the system clock). */
  readonly now?: (() => Date) | undefined;
  /**
   * The RSA key size of generated certificates whose options give no `key_length`: 2048, 3072
   * or 4096 (default: bosh-cli's 3072; a CredHub-like config server would choose 2048).
   */
  readonly defaultCertificateKeyLength?: number | undefined;
}

function nameList(names: Iterable<string>): string {
  return [...names].sort().join(', ');
}

/**
 * Puts every value generated so far, in definition order: all puts are asked for at once (a file
 * store writes them together), each after the one before, so the store ends the same whatever
 * order the keys were made in. A value whose generation failed is not there; the others are
 * stored all the same, so that a second run does not make them again. Returns each definition's
 * put failure (undefined: stored or nothing to store).
 */
async function storeGenerated(ctx: EvaluationContext, typed: readonly VariableDefinition[]): Promise<unknown[]> {
  const store = ctx.store;
  if (store === undefined) return [];
  return Promise.all(
    typed.map((d) => {
      const value = ctx.unstored.get(d.name);
      if (value === undefined) return undefined;
      ctx.unstored.delete(d.name);
      return store.put(d.name, value).then(
        () => undefined,
        (err: unknown) => new DirectorError(`Generating variable '${d.name}'`, { cause: err }),
      );
    }),
  );
}

/**
 * bosh-cli's Template.Evaluate after ops-files: interpolates every `((name))` in `doc` and
 * returns the new document (`doc` is not modified).
 *
 * 1. Every declared variable with a `type` is looked up first, in definition order; with a
 *    store, one without a value is generated (existing values are never regenerated).
 *    Independent generations run concurrently (keys on libuv's thread pool); a certificate
 *    waits for the CA its `ca` option names, generating it first when needed. The new values
 *    are then stored in definition order.
 * 2. The document is interpolated (values, then map keys; see `interpolate`).
 * 3. Every declared variable that has a value is removed from the `variables:` section.
 * 4. With `expectAllKeys`, one error lists every name not found (declared ones included);
 *    with `expectAllVarsUsed`, one lists every given or stored name never used.
 */
export async function evaluateTemplate(doc: YamlValue, opts: EvaluateOptions): Promise<YamlValue> {
  const keyLength = opts.defaultCertificateKeyLength;
  if (keyLength !== undefined && !CERTIFICATE_KEY_LENGTHS.includes(keyLength)) {
    throw new DirectorError(
      `Unsupported default certificate key length: ${keyLength} (expected one of ${CERTIFICATE_KEY_LENGTHS.join(', ')})`,
    );
  }
  let defs;
  try {
    defs = variableDefinitions(doc);
  } catch (err) {
    throw new DirectorError('Parsing variable definitions', { cause: err });
  }
  const ctx = newEvaluationContext(opts.vars, opts.store, defs, opts.now ?? (() => new Date()), keyLength);
  const tracker = new VarsTracker(ctx);

  const typed = defs.filter((d) => d.type !== '');
  const settled = await Promise.allSettled(typed.map((d) => tracker.get(d.name)));
  const storing = await storeGenerated(ctx, typed);
  const failure = typed
    .map((_, i) => (settled[i]!.status === 'rejected' ? (settled[i] as PromiseRejectedResult).reason : storing[i]))
    .find((e) => e !== undefined);
  if (failure !== undefined)
    throw new DirectorError('Getting all variables from variable definitions sections', { cause: failure });

  let result = await interpolate(doc, tracker.lookup);

  const found: string[] = [];
  for (const def of defs) {
    let lookup;
    try {
      lookup = await tracker.get(def.name);
    } catch (err) {
      throw new DirectorError('Getting all variables from variable definitions sections', { cause: err });
    }
    if (lookup.found) found.push(def.name);
  }
  for (const name of found) {
    const path = new Pointer([
      rootToken,
      { kind: 'key', key: 'variables', optional: false },
      { kind: 'matching-index', key: 'name', value: name, optional: false, modifiers: [] },
    ]);
    result = new RemoveOp(path).apply(result);
  }

  const problems: string[] = [];
  if (opts.expectAllKeys === true && tracker.missing.size > 0) {
    problems.push(`Expected to find variables: ${nameList(tracker.missing)}`);
  }
  if (opts.expectAllVarsUsed === true) {
    const given = [...opts.vars.names(), ...(opts.store === undefined ? [] : await opts.store.names())];
    const unused = new Set(given.filter((n) => !tracker.visitedAll.has(n)));
    if (unused.size > 0) problems.push(`Expected to use variables: ${nameList(unused)}`);
  }
  if (problems.length > 0) throw new DirectorError(problems.join('; '));
  return result;
}
