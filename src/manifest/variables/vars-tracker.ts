import { DirectorError } from '../../errors.js';
import { FindOp } from '../patch/find-op.js';
import { Pointer, parsePointer } from '../patch/pointer.js';
import type { Token } from '../patch/tokens.js';
import type { YamlValue } from '../value.js';
import type { CertificateAuthority } from './certificate-authority.js';
import { interpolate } from './interpolation.js';
import type { Lookup } from './interpolation.js';
import type { VariableDefinition, VariableStore, Variables } from './variables.js';

const NOT_FOUND: Lookup = { found: false };

/** certificate-authority.ts (and node:crypto) load with the first certificate that needs a CA. */
async function parseCertificateAuthority(name: string, value: YamlValue): Promise<CertificateAuthority> {
  const ca = await import('./certificate-authority.js');
  return ca.parseCertificateAuthority(name, value);
}

/** What every tracker of one evaluation shares. */
export interface EvaluationContext {
  readonly vars: Variables;
  readonly store: VariableStore | undefined;
  readonly defs: readonly VariableDefinition[];
  readonly now: () => Date;
  /** The key size of certificates that do not ask for one (undefined: the generator's default). */
  readonly defaultCertificateKeyLength: number | undefined;
  /** In-flight generations by name: a value is generated once even when asked for concurrently. */
  readonly generations: Map<string, Promise<YamlValue>>;
  /** Which variable's generation waits for which certificate authority (to refuse cycles). */
  readonly waitsFor: Map<string, string>;
  /**
   * Generated values not yet put in the store. The evaluation stores them in definition order
   * once every generation has settled (see `evaluateTemplate`), so that the order in which keys
   * happen to come out of the thread pool never shows in the store.
   */
  readonly unstored: Map<string, YamlValue>;
}

export function newEvaluationContext(
  vars: Variables,
  store: VariableStore | undefined,
  defs: readonly VariableDefinition[],
  now: () => Date,
  defaultCertificateKeyLength?: number,
): EvaluationContext {
  return {
    vars,
    store,
    defs,
    now,
    defaultCertificateKeyLength,
    generations: new Map(),
    waitsFor: new Map(),
    unstored: new Map(),
  };
}

/**
 * bosh-cli's varsTracker: looks names up (command-line values first, then the store, which
 * generates declared variables), interpolating a definition's options first, and records which
 * names were asked for (`visitedAll`) and which were not found (`missing`). A tracker scoped to
 * a definition's options has its own records, as in bosh-cli.
 */
export class VarsTracker {
  readonly missing = new Set<string>();
  readonly visitedAll = new Set<string>();

  constructor(
    private readonly ctx: EvaluationContext,
    private readonly visited: ReadonlySet<string> = new Set(),
  ) {}

  /** The value of a top-level name. */
  get(name: string): Promise<Lookup> {
    this.visitedAll.add(name);
    if (this.visited.size > 0) return this.evaluate(name);
    // A top-level name answers the same every time it is asked for (values and generations do
    // not change during an evaluation): a manifest that uses it a hundred times looks it up once.
    let answer = this.answers.get(name);
    if (answer === undefined) {
      answer = this.evaluate(name);
      this.answers.set(name, answer);
    }
    return answer;
  }

  private readonly answers = new Map<string, Promise<Lookup>>();

  private async evaluate(name: string): Promise<Lookup> {
    if (this.visited.has(name)) throw new DirectorError('Detected recursion');
    const scoped = new VarsTracker(this.ctx, new Set([...this.visited, name]));
    const def = this.ctx.defs.find((d) => d.name === name) ?? { name, type: '', options: null };
    let options: YamlValue;
    try {
      options = await interpolate(def.options, scoped.lookup);
    } catch (err) {
      throw new DirectorError(`Interpolating variable '${name}' definition options`, { cause: err });
    }
    // bosh-cli: a definition whose options reference a missing name is not found, and neither
    // it nor that name is reported missing.
    if (scoped.missing.size > 0) return NOT_FOUND;
    const result = await this.valueOf({ ...def, options });
    if (!result.found) this.missing.add(name);
    return result;
  }

  /** A full reference (`name.key.0`): the path after the first dot is a go-patch pointer. */
  readonly lookup = async (fullName: string): Promise<Lookup> => {
    const [first = '', ...rest] = fullName.split('.');
    const result = await this.get(first);
    if (!result.found || rest.length === 0) return result;
    const pointer = parsePointer('/' + rest.join('/'));
    try {
      return { found: true, value: new FindOp(pointer).apply(result.value) };
    } catch {
      // bosh-cli retries with every index token read as a map key ("/0" as the key "0").
      const tokens = pointer.tokens.map((t): Token =>
        t.kind === 'index' ? { kind: 'key', key: String(t.index), optional: false } : t,
      );
      return { found: true, value: new FindOp(new Pointer(tokens)).apply(result.value) };
    }
  };

  private async valueOf(def: VariableDefinition): Promise<Lookup> {
    const given = this.ctx.vars.get(def.name);
    if (given !== undefined) return { found: true, value: given };
    const store = this.ctx.store;
    if (store === undefined) return NOT_FOUND;
    const inflight = this.ctx.generations.get(def.name);
    if (inflight !== undefined) return { found: true, value: await inflight };
    const stored = await store.get(def.name);
    if (stored !== undefined) return { found: true, value: stored };
    if (def.type === '') return NOT_FOUND;
    let generation = this.ctx.generations.get(def.name);
    if (generation === undefined) {
      generation = this.generate(def);
      this.ctx.generations.set(def.name, generation);
    }
    return { found: true, value: await generation };
  }

  private async generate(def: VariableDefinition): Promise<YamlValue> {
    try {
      // Loaded on the first generation (with node:crypto): `int` without a store never needs them.
      const { generatorFor } = await import('./generators.js');
      const value = await generatorFor(def.type).generate(def.options, {
        name: def.name,
        now: this.ctx.now,
        defaultKeyLength: this.ctx.defaultCertificateKeyLength,
        loadCertificateAuthority: (caName) => this.loadCertificateAuthority(def.name, caName),
      });
      this.ctx.unstored.set(def.name, value);
      return value;
    } catch (err) {
      throw new DirectorError(`Generating variable '${def.name}'`, { cause: err });
    }
  }

  /** bosh-cli's VarsCertLoader, except that a declared CA without a value is generated first. */
  private async loadCertificateAuthority(requester: string, caName: string): Promise<CertificateAuthority> {
    const given = this.ctx.vars.get(caName);
    if (given !== undefined) return parseCertificateAuthority(caName, given);
    const chain = [requester, caName];
    for (let cur = caName; cur !== requester && this.ctx.waitsFor.has(cur);) {
      cur = this.ctx.waitsFor.get(cur)!;
      chain.push(cur);
    }
    if (chain[chain.length - 1] === requester) {
      throw new DirectorError(`Detected a cycle of certificate authorities: ${chain.join(' -> ')}`);
    }
    this.ctx.waitsFor.set(requester, caName);
    try {
      const def = this.ctx.defs.find((d) => d.name === caName);
      let result: Lookup = NOT_FOUND;
      if (def !== undefined && def.type !== '') {
        result = await new VarsTracker(this.ctx).get(caName);
      } else if (this.ctx.store !== undefined) {
        const stored = await this.ctx.store.get(caName);
        if (stored !== undefined) result = { found: true, value: stored };
      }
      if (!result.found) throw new DirectorError(`Expected to find variable '${caName}' with a certificate`);
      return await parseCertificateAuthority(caName, result.value);
    } finally {
      this.ctx.waitsFor.delete(requester);
    }
  }
}
