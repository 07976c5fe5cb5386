import { isArray, isMap } from '../value.js';
import type { YamlValue } from '../value.js';
import { DescriptiveOp } from './descriptive-op.js';
import { PatchError } from './errors.js';
import { isJsonPatchDocument, jsonPatchOpsFromDefinitions } from './json-patch-ops.js';
import { Ops } from './ops.js';
import type { Op } from './ops.js';
import { parsePointer } from './pointer.js';
import { RemoveOp } from './remove-op.js';
import { ReplaceOp } from './replace-op.js';
import { TestOp } from './test-op.js';

/**
 * One entry of an ops-file, as go-patch's OpDefinition decodes it (gopkg.in/yaml.v2, not
 * strict): a `null` path/value/absent/error counts as not given, unknown keys are ignored.
 */
export interface OpDefinition {
  readonly type: string;
  readonly path?: string;
  readonly value?: YamlValue;
  readonly absent?: boolean;
  readonly error?: string;
}

/**
 * Builds the op of one ops-file: `defs` is the parsed file (a sequence of
 * `{type, path, value, absent?, error?}`, or of RFC 6902 `{op, path, from?, value?}` — detected
 * per file), `source` its name for errors. Malformed definitions throw PatchError
 * ("Deserializing ops file '<source>': ..." / "Building ops from ops-file '<source>': ..." with
 * go-patch's text). Applying the result fails with
 * "Applying ops-file '<source>': Error 'operation [N] in <source> failed': <go-patch's error>",
 * N counted from 0 as bosh-cli does.
 */
export function opsFromDefinitions(defs: YamlValue, source: string): Op {
  if (defs !== null && !isArray(defs)) {
    throw deserializingError(source, [`cannot unmarshal ${yamlTag(defs)}${yamlText(defs)} into []patch.OpDefinition`]);
  }
  const items = defs ?? [];
  if (isJsonPatchDocument(items)) return new OpsFileOp(source, jsonPatchOpsFromDefinitions(items, source));

  const opDefs = decodeOpDefinitions(items, source);
  let ops: Ops;
  try {
    ops = newOpsFromDefinitions(opDefs);
  } catch (err) {
    throw new PatchError(`Building ops from ops-file '${source}'`, { cause: err });
  }
  // bosh-cli names the file and the op's index around each op's failure
  const described = ops.ops.map((op, i) => new DescriptiveOp(op, `operation [${i}] in ${source} failed`));
  return new OpsFileOp(source, new Ops(described));
}

/** go-patch's NewOpsFromDefinitions: replace, remove and test; `error:` wraps the op in a DescriptiveOp. */
export function newOpsFromDefinitions(opDefs: readonly OpDefinition[]): Ops {
  const ops = opDefs.map((opDef, i): Op => {
    let op: Op;
    switch (opDef.type) {
      case 'replace':
        op = buildOp(opDef, i, 'Replace', () => {
          if (opDef.path === undefined) throw new Error('Missing path');
          if (opDef.value === undefined) throw new Error('Missing value');
          return new ReplaceOp(parsePath(opDef.path), opDef.value);
        });
        break;
      case 'remove':
        op = buildOp(opDef, i, 'Remove', () => {
          if (opDef.path === undefined) throw new Error('Missing path');
          if (opDef.value !== undefined) throw new Error('Cannot specify value');
          return new RemoveOp(parsePath(opDef.path));
        });
        break;
      case 'test':
        op = buildOp(opDef, i, 'Test', () => {
          if (opDef.path === undefined) throw new Error('Missing path');
          if (opDef.value === undefined && opDef.absent === undefined) throw new Error('Missing value or absent');
          return new TestOp(parsePath(opDef.path), opDef.value ?? null, opDef.absent ?? false);
        });
        break;
      default:
        throw new PatchError(`Unknown operation [${i}] with type '${opDef.type}' within\n${formatOpDefinition(opDef)}`);
    }
    return opDef.error === undefined ? op : new DescriptiveOp(op, opDef.error);
  });
  return new Ops(ops);
}

/** An ops-file's ops, failing with the file's name in front. */
class OpsFileOp implements Op {
  constructor(
    readonly source: string,
    readonly op: Op,
  ) {}

  apply(doc: YamlValue): YamlValue {
    try {
      return this.op.apply(doc);
    } catch (err) {
      throw new PatchError(`Applying ops-file '${this.source}'`, { cause: err });
    }
  }
}

function buildOp(opDef: OpDefinition, i: number, kind: string, build: () => Op): Op {
  try {
    return build();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new PatchError(`${kind} operation [${i}]: ${message} within\n${formatOpDefinition(opDef)}`);
  }
}

function parsePath(path: string) {
  try {
    return parsePointer(path);
  } catch (err) {
    throw new Error(`Invalid path: ${(err as Error).message}`);
  }
}

/** Decodes the sequence the way yaml.Unmarshal into []patch.OpDefinition does. */
function decodeOpDefinitions(items: readonly YamlValue[], source: string): OpDefinition[] {
  const typeErrors: string[] = [];
  const stringField = (v: YamlValue | undefined): string | undefined => {
    if (v === undefined || v === null) return undefined;
    if (isArray(v) || isMap(v)) {
      typeErrors.push(`cannot unmarshal ${yamlTag(v)} into string`);
      return undefined;
    }
    return String(v);
  };

  const defs = items.map((item): OpDefinition => {
    if (item === null) return { type: '' };
    if (!isMap(item)) {
      typeErrors.push(`cannot unmarshal ${yamlTag(item)}${yamlText(item)} into patch.OpDefinition`);
      return { type: '' };
    }
    // yaml.v2 decodes the fields in the order the file lists them (which orders its errors)
    const def: { type: string; path?: string; value?: YamlValue; absent?: boolean; error?: string } = { type: '' };
    for (const [key, v] of item) {
      if (key === 'type') def.type = stringField(v) ?? '';
      else if (key === 'path') def.path = stringField(v);
      else if (key === 'error') def.error = stringField(v);
      else if (key === 'value') def.value = v === null ? undefined : v;
      else if (key === 'absent') {
        if (typeof v === 'boolean') def.absent = v;
        else if (v !== null) typeErrors.push(`cannot unmarshal ${yamlTag(v)}${yamlText(v)} into bool`);
      }
    }
    return def;
  });

  if (typeErrors.length > 0) throw deserializingError(source, typeErrors);
  return defs;
}

function deserializingError(source: string, typeErrors: readonly string[]): PatchError {
  const cause = new PatchError(`yaml: unmarshal errors:\n  ${typeErrors.join('\n  ')}`);
  return new PatchError(`Deserializing ops file '${source}'`, { cause });
}

/** yaml.v2's short tag of a decoded value. */
function yamlTag(v: YamlValue): string {
  if (v === null) return '!!null';
  if (isArray(v)) return '!!seq';
  if (isMap(v)) return '!!map';
  if (typeof v === 'boolean') return '!!bool';
  if (typeof v === 'number') return Number.isInteger(v) ? '!!int' : '!!float';
  if (typeof v === 'bigint') return '!!int';
  return '!!str';
}

/** yaml.v2 quotes a scalar's text (cut to 7 characters past 10) in its type errors. */
function yamlText(v: YamlValue): string {
  if (isArray(v) || isMap(v)) return '';
  const text = String(v);
  return text.length > 10 ? ` \`${text.slice(0, 7)}...\`` : ` \`${text}\``;
}

/** go-patch's fmtOpDef: Go's json.MarshalIndent of the definition, the value redacted. */
function formatOpDefinition(opDef: OpDefinition): string {
  const fields: string[] = [];
  if (opDef.type !== '') fields.push(`"Type": ${goJsonString(opDef.type)}`);
  if (opDef.path !== undefined) fields.push(`"Path": ${goJsonString(opDef.path)}`);
  if (opDef.value !== undefined) fields.push(`"Value": "<redacted>"`);
  if (opDef.absent !== undefined) fields.push(`"Absent": ${opDef.absent}`);
  if (opDef.error !== undefined) fields.push(`"Error": ${goJsonString(opDef.error)}`);
  return fields.length === 0 ? '{}' : `{\n  ${fields.join(',\n  ')}\n}`;
}

/** Go's encoding/json string (HTML-escaped; go-patch turns `<` and `>` back, `&` stays \u0026). */
function goJsonString(s: string): string {
  return JSON.stringify(s)
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}
