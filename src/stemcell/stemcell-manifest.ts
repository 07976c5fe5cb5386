import { parseDocument, isScalar } from 'yaml';
import { toPlain, type Plain } from '../manifest/value.js';
import { parseYaml } from '../manifest/yaml.js';

/** A stemcell's `stemcell.MF`, as the BOSH director reads it. */
export interface StemcellManifest {
  readonly name: string;
  /** As written: `3586.10` stays `3586.10` (yaml.v2 decodes a version into a string field from its text). */
  readonly version: string;
  readonly operatingSystem: string;
  /** Handed to the CPI's create_stemcell (e.g. Azure's `image` marketplace reference). */
  readonly cloudProperties: Readonly<Record<string, Plain>>;
  /** The sha1 of the `image` file (`sha256:<hex>` for a sha256), when the manifest has one. */
  readonly sha1?: string;
  readonly apiVersion?: number;
  /** The image formats (`azure-vhd`, `azure-light`, ...) a CPI must support. */
  readonly stemcellFormats: readonly string[];
}

/** A problem with a stemcell manifest: what is wrong, with the key's path. */
export class StemcellManifestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StemcellManifestError';
  }
}

const show = (v: unknown) => (v === undefined ? 'nothing' : JSON.stringify(v));

/** The source text of a top-level scalar (`version: 3586.10` → "3586.10"). */
function scalarText(text: string, key: string): string | undefined {
  const node = parseDocument(text, { version: '1.1' }).get(key, true);
  return isScalar(node) && typeof node.source === 'string' ? node.source : undefined;
}

/**
 * Reads and checks `stemcell.MF` text. Every problem is a `StemcellManifestError` naming the
 * key; `file` names the manifest in YAML syntax errors.
 */
export function parseStemcellManifest(text: string, file: string): StemcellManifest {
  const doc = toPlain(parseYaml(text, file));
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc))
    throw new StemcellManifestError(`expected a map, found ${show(doc)}`);
  const str = (key: string): string => {
    const v = doc[key];
    if (typeof v !== 'string' || v.trim() === '')
      throw new StemcellManifestError(`'${key}' must be a non-empty string, found ${show(v)}`);
    return v;
  };
  const name = str('name');
  const rawVersion = doc['version'];
  let version: string;
  if (typeof rawVersion === 'string' && rawVersion.trim() !== '') version = rawVersion;
  else if (typeof rawVersion === 'number') version = scalarText(text, 'version') ?? String(rawVersion);
  else throw new StemcellManifestError(`'version' must be a string or a number, found ${show(rawVersion)}`);
  if (!/^[A-Za-z0-9._+-]+$/.test(version))
    throw new StemcellManifestError(`'version' must be letters, digits, '.', '_', '+' or '-', found ${show(version)}`);
  if (!/^[A-Za-z0-9._-]+$/.test(name))
    throw new StemcellManifestError(`'name' must be letters, digits, '.', '_' or '-', found ${show(name)}`);
  const operatingSystem = str('operating_system');
  const cp = doc['cloud_properties'] ?? {};
  if (cp === null || typeof cp !== 'object' || Array.isArray(cp))
    throw new StemcellManifestError(`'cloud_properties' must be a map, found ${show(cp)}`);
  // a digest of digits only (or one like `1e5...`) reads as a number; yaml.v2 keeps its text
  const sha1 = typeof doc['sha1'] === 'number' ? (scalarText(text, 'sha1') ?? doc['sha1']) : doc['sha1'];
  if (
    sha1 !== undefined &&
    sha1 !== null &&
    (typeof sha1 !== 'string' || !/^(sha256:[0-9a-f]{64}|(sha1:)?[0-9a-f]{40})$/i.test(sha1))
  ) {
    throw new StemcellManifestError(
      `'sha1' must be a sha1 (40 hex digits) or 'sha256:<64 hex digits>', found ${show(sha1)}`,
    );
  }
  const api = doc['api_version'];
  if (api !== undefined && api !== null && (typeof api !== 'number' || !Number.isInteger(api) || api < 1))
    throw new StemcellManifestError(`'api_version' must be a positive integer, found ${show(api)}`);
  const formats = doc['stemcell_formats'] ?? [];
  if (!Array.isArray(formats) || formats.some((f) => typeof f !== 'string'))
    throw new StemcellManifestError(`'stemcell_formats' must be a list of strings, found ${show(formats)}`);
  return {
    name,
    version,
    operatingSystem,
    cloudProperties: cp,
    ...(typeof sha1 === 'string' ? { sha1: sha1.toLowerCase() } : {}),
    ...(typeof api === 'number' ? { apiVersion: api } : {}),
    stemcellFormats: formats as string[],
  };
}
