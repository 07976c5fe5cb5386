import { z } from 'zod';
import type { Plain } from '../manifest/value.js';
import { parseCloudConfig, type CloudConfig } from '../plan/cloud-config.js';
import { problemsFromZod, ValidationError } from '../plan/validation.js';
import { parseGatewayConfig, type GatewayConfig } from './gateway.js';

/** The environment manifest (manifests/env.yml): the CPI, the cloud-config and the stemcell. */
export interface EnvironmentManifest {
  readonly name: string;
  readonly cpi: { readonly type: 'local' | 'azure'; readonly properties: Record<string, Plain> };
  readonly stemcell: {
    readonly name: string;
    readonly os: string;
    readonly version: string;
    readonly url?: string;
    readonly cloudProperties: Record<string, Plain>;
  };
  /** The cloud-config as written (what `director cloud-config` prints) and validated. */
  readonly cloudConfigDoc: Plain;
  readonly cloudConfig: CloudConfig;
  /**
   * `gateway:` — how the director reaches the VMs: `none` (it runs inside their network), a
   * gateway the operator names, or absent: the jumpbox create-env makes when the CPI's foundation
   * has one (Azure), else directly.
   */
  readonly gateway?: GatewayConfig;
}

const schema = z.object({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'expected a name of letters, digits, ".", "_" or "-"'),
  cpi: z.object({ type: z.enum(['local', 'azure']), properties: z.record(z.string(), z.any()).default({}) }),
  stemcell: z.object({
    name: z.string().min(1),
    os: z.string().min(1),
    version: z.union([z.string(), z.number()]).transform(String),
    url: z.string().optional(),
    cloud_properties: z.record(z.string(), z.any()).default({}),
  }),
  cloud_config: z.record(z.string(), z.any()),
  variables: z.array(z.any()).optional(),
  gateway: z.any().optional(),
});

/** Validates an interpolated environment manifest; every problem at once, each with its path. */
export function parseEnvironmentManifest(doc: unknown, file: string): EnvironmentManifest {
  const r = schema.safeParse(doc ?? {});
  if (!r.success)
    throw new ValidationError(`Validating environment manifest '${file}'`, problemsFromZod(r.error.issues));
  const m = r.data;
  let cloudConfig: CloudConfig;
  try {
    cloudConfig = parseCloudConfig(m.cloud_config as Plain, `cloud_config of '${file}'`);
  } catch (e) {
    if (e instanceof ValidationError)
      throw new ValidationError(
        `Validating environment manifest '${file}'`,
        e.problems.map((p) => ({ ...p, path: `cloud_config.${p.path}` })),
      );
    throw e;
  }
  const gateway = parseGatewayConfig(m.gateway, file);
  return {
    ...(gateway === undefined ? {} : { gateway }),
    name: m.name,
    cpi: { type: m.cpi.type, properties: m.cpi.properties as Record<string, Plain> },
    stemcell: {
      name: m.stemcell.name,
      os: m.stemcell.os,
      version: m.stemcell.version,
      ...(m.stemcell.url ? { url: m.stemcell.url } : {}),
      cloudProperties: m.stemcell.cloud_properties as Record<string, Plain>,
    },
    cloudConfigDoc: m.cloud_config as Plain,
    cloudConfig,
  };
}
