import ejs from 'ejs';
import { DirectorError } from '../errors.js';
import type { Plain } from '../manifest/value.js';
import type { JobSpec } from '../release/job-spec.js';

/**
 * Job templates are EJS (`<%= %>`, `<% %>`), BOSH's ERB with JavaScript inside, and they get
 * BOSH's helpers: `p(name, default?)`, `if_p(name..., fn)`, `link(name)`, `if_link(name, fn)`,
 * `spec`. EJS is the maintained template library whose tags match ERB's.
 */

/** What `spec` shows a template: the instance the job renders for. */
export interface TemplateSpec {
  readonly deployment: string;
  readonly name: string;
  readonly id: string;
  readonly index: number;
  readonly az: string | null;
  readonly bootstrap: boolean;
  readonly address: string | null;
  readonly ip: string | null;
  readonly networks: Readonly<
    Record<string, { ip: string | null; netmask: string | null; gateway: string | null; default: readonly string[] }>
  >;
  readonly job: { readonly name: string };
  readonly release: { readonly name: string; readonly version: string };
}

export interface LinkInstance {
  readonly name: string;
  readonly id: string;
  readonly index: number;
  readonly az: string | null;
  readonly address: string | null;
  readonly bootstrap: boolean;
}

/** A resolved link as consumers see it. */
export interface ResolvedLink {
  readonly name: string;
  readonly type: string;
  readonly group: string;
  readonly deployment: string;
  readonly instances: readonly LinkInstance[];
  readonly properties: Plain;
  readonly address: string | null;
}

export interface RenderContext {
  readonly spec: TemplateSpec;
  /** The job's properties from the manifest (nested maps). */
  readonly properties: Plain;
  /** Consumed link name → link, or null where an optional link has no provider. */
  readonly links: Readonly<Record<string, ResolvedLink | null>>;
}

/** Looks up a dotted name in nested maps; `undefined` when any segment is missing. */
export function lookup(props: Plain, dotted: string): Plain | undefined {
  let cur: Plain | undefined = props;
  for (const seg of dotted.split('.')) {
    if (
      cur === null ||
      typeof cur !== 'object' ||
      Array.isArray(cur) ||
      !Object.prototype.hasOwnProperty.call(cur, seg)
    )
      return undefined;
    cur = (cur as Record<string, Plain>)[seg];
  }
  return cur;
}

/**
 * The properties a job sees, as BOSH computes them: each property its spec declares, from the
 * manifest or else its default; nested back into maps. Undeclared manifest properties are dropped.
 */
export function effectiveProperties(spec: JobSpec, manifestProps: Plain): Record<string, Plain> {
  const out: Record<string, Plain> = {};
  for (const [name, p] of Object.entries(spec.properties)) {
    const v = lookup(manifestProps, name);
    const value = v !== undefined ? v : p.default;
    if (value === undefined) continue;
    let cur = out;
    const segs = name.split('.');
    segs.slice(0, -1).forEach((s) => {
      if (typeof cur[s] !== 'object' || cur[s] === null || Array.isArray(cur[s])) cur[s] = {};
      cur = cur[s] as Record<string, Plain>;
    });
    cur[segs[segs.length - 1]!] = value;
  }
  return out;
}

class PropertyMissing extends DirectorError {}

function helpersFor(ctx: RenderContext, declared: ReadonlySet<string> | undefined) {
  const get = (
    props: Plain,
    names: readonly string[],
    rest: unknown[],
    where: string,
    only: ReadonlySet<string> | undefined,
  ) => {
    for (const n of names) {
      if (only && !only.has(n) && ![...only].some((d) => d.startsWith(`${n}.`))) continue;
      const v = lookup(props, n);
      if (v !== undefined && v !== null) return v;
    }
    if (rest.length > 0) return rest[0];
    throw new PropertyMissing(`Can't find property '${JSON.stringify(names)}'${where}`);
  };
  const p = (name: string | readonly string[], ...rest: unknown[]) =>
    get(ctx.properties, typeof name === 'string' ? [name] : name, rest, '', declared);
  const if_p = (...args: unknown[]) => {
    const fn = args.pop() as (...vals: unknown[]) => void;
    const vals: unknown[] = [];
    for (const n of args as string[]) {
      if (declared && !declared.has(n)) return;
      const v = lookup(ctx.properties, n);
      if (v === undefined || v === null) return;
      vals.push(v);
    }
    fn(...vals);
  };
  const linkObject = (l: ResolvedLink) => ({
    ...l,
    // A link's properties are what its provider shares, whatever the consumer declares.
    p: (name: string | readonly string[], ...rest: unknown[]) =>
      get(l.properties, typeof name === 'string' ? [name] : name, rest, ` in link '${l.name}'`, undefined),
    if_p: (...args: unknown[]) => {
      const fn = args.pop() as (...vals: unknown[]) => void;
      const vals = (args as string[]).map((n) => lookup(l.properties, n));
      if (vals.every((v) => v !== undefined && v !== null)) fn(...vals);
    },
  });
  const link = (name: string) => {
    const l = ctx.links[name];
    if (l === undefined) throw new DirectorError(`Can't find link '${name}'`);
    if (l === null)
      throw new DirectorError(`Can't find link '${name}' (it is optional and has no provider; use if_link)`);
    return linkObject(l);
  };
  const if_link = (name: string, fn: (l: ReturnType<typeof linkObject>) => void) => {
    const l = ctx.links[name];
    if (l) fn(linkObject(l));
  };
  return { p, if_p, link, if_link, spec: ctx.spec };
}

const HELPERS = ['p', 'if_p', 'link', 'if_link', 'spec'];
const compiled = new Map<string, ejs.TemplateFunction>();

function compile(source: string): ejs.TemplateFunction {
  let f = compiled.get(source);
  if (!f) {
    f = ejs.compile(source, { strict: true, destructuredLocals: HELPERS, escape: (s: unknown) => String(s) });
    compiled.set(source, f);
  }
  return f;
}

/**
 * Renders every template of a job for one instance. `sources` maps each template's source name
 * (a key of `spec.templates`) to its text. Returns rendered path → content. Errors name the
 * template, the job and the instance.
 */
export function renderJob(
  spec: JobSpec,
  sources: Readonly<Record<string, string>>,
  ctx: RenderContext,
): Record<string, string> {
  const declared = new Set(Object.keys(spec.properties));
  const helpers = helpersFor({ ...ctx, properties: effectiveProperties(spec, ctx.properties) }, declared);
  const out: Record<string, string> = {};
  for (const [src, dest] of Object.entries(spec.templates)) {
    const text = sources[src];
    if (text === undefined)
      throw new DirectorError(`Rendering job '${spec.name}': template '${src}' is missing from the release`);
    try {
      out[dest] = compile(text)(helpers);
    } catch (e) {
      // EJS prefixes the message with the template's context; keep the line number and the message.
      const text = (e as Error).message;
      const line = / >> (\d+)\|/.exec(text)?.[1];
      const msg = text.split('\n').pop()!.trim();
      throw new DirectorError(
        `Rendering template '${dest}' of job '${spec.name}' for instance '${ctx.spec.name}/${ctx.spec.index}'`,
        {
          cause: new DirectorError(line ? `line ${line}: ${msg}` : msg),
        },
      );
    }
  }
  return out;
}
