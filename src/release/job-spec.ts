import { z } from 'zod';
import type { Plain } from '../manifest/value.js';
import { problemsFromZod, ValidationError } from '../plan/validation.js';

/**
 * A job's spec, as BOSH releases write it (`jobs/<name>/spec`), with this project's one
 * addition: `processes`, the programs the agent's supervisor keeps running (BOSH uses monit
 * files for that). Lifecycle scripts are found by their rendered path: bin/pre-start,
 * bin/post-start, bin/post-deploy, bin/drain.
 */
export interface JobSpec {
  readonly name: string;
  readonly description: string;
  /** template source file (under templates/) → rendered path (under the job's folder). */
  readonly templates: Readonly<Record<string, string>>;
  readonly packages: readonly string[];
  readonly properties: Readonly<Record<string, PropertySpec>>;
  readonly provides: readonly LinkSpec[];
  readonly consumes: readonly (LinkSpec & { readonly optional: boolean })[];
  readonly processes: readonly ProcessSpec[];
}

export interface PropertySpec {
  readonly description?: string;
  readonly default?: Plain;
  readonly example?: Plain;
}

export interface LinkSpec {
  readonly name: string;
  readonly type: string;
  /** Property names (dotted) the link shares with its consumers. */
  readonly properties: readonly string[];
}

export interface ProcessSpec {
  readonly name: string;
  /** Path relative to the agent root, or a command on PATH. */
  readonly executable: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** Working directory relative to the agent root (default: the job's folder). */
  readonly cwd?: string;
}

const linkSchema = z.object({
  name: z.string().min(1),
  type: z.string().min(1),
  properties: z.array(z.string()).default([]),
  optional: z.boolean().default(false),
});

const specSchema = z.object({
  name: z.string().min(1),
  description: z.string().default(''),
  templates: z.record(z.string(), z.string()).default({}),
  packages: z.array(z.string()).default([]),
  properties: z
    .record(
      z.string(),
      z
        .object({ description: z.string().optional(), default: z.any().optional(), example: z.any().optional() })
        .nullable(),
    )
    .default({}),
  provides: z.array(linkSchema).default([]),
  consumes: z.array(linkSchema).default([]),
  processes: z
    .array(
      z.object({
        name: z.string().min(1),
        executable: z.string().min(1),
        args: z.array(z.union([z.string(), z.number()]).transform(String)).default([]),
        env: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String)).default({}),
        cwd: z.string().optional(),
      }),
    )
    .default([]),
});

/** Validates a parsed spec document; `file` names it in errors. */
export function parseJobSpec(doc: unknown, file: string): JobSpec {
  const r = specSchema.safeParse(doc ?? {});
  if (!r.success) throw new ValidationError(`Validating job spec '${file}'`, problemsFromZod(r.error.issues));
  const s = r.data;
  const properties: Record<string, PropertySpec> = {};
  for (const [k, v] of Object.entries(s.properties)) {
    properties[k] = {
      ...(v?.description !== undefined ? { description: v.description } : {}),
      ...(v && 'default' in v && v.default !== undefined ? { default: v.default as Plain } : {}),
    };
  }
  return {
    name: s.name,
    description: s.description,
    templates: s.templates,
    packages: s.packages,
    properties,
    provides: s.provides.map(({ name, type, properties: p }) => ({ name, type, properties: p })),
    consumes: s.consumes,
    processes: s.processes.map((p) => ({
      name: p.name,
      executable: p.executable,
      args: p.args,
      env: p.env,
      ...(p.cwd !== undefined ? { cwd: p.cwd } : {}),
    })),
  };
}
