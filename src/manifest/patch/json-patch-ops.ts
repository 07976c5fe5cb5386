import { createRequire } from 'node:module';
import { fromPlain, isArray, isMap, toPlain } from '../value.js';
import type { Plain, YamlValue } from '../value.js';
import { PatchError } from './errors.js';
import type { Op } from './ops.js';

/** The subset of the `json-patch` package (bruth/jsonpatch-js) that we need. */
interface JsonPatchLibrary {
  compile(patch: readonly JsonPatchOperation[]): (document: Plain) => Plain;
}

interface JsonPatchOperation {
  readonly op: string;
  readonly path: string;
  readonly from?: string;
  readonly value?: Plain;
}

// Loaded on the first JSON Patch ops-file: go-patch files, the usual kind, never need it.
let library: JsonPatchLibrary | undefined;
const jsonpatch = (): JsonPatchLibrary =>
  (library ??= createRequire(import.meta.url)('json-patch') as JsonPatchLibrary);

const OPERATIONS: ReadonlySet<string> = new Set(['add', 'remove', 'replace', 'move', 'copy', 'test']);

/**
 * An ops-file is an RFC 6902 JSON Patch document when its entries say `op:` and none says
 * go-patch's `type:`.
 */
export function isJsonPatchDocument(items: readonly YamlValue[]): boolean {
  let hasOp = false;
  for (const item of items) {
    if (!isMap(item)) continue;
    if (item.has('type')) return false;
    if (item.has('op')) hasOp = true;
  }
  return hasOp;
}

/**
 * The ops of an RFC 6902 document, applied by the `json-patch` package to a plain-object copy of
 * the document (so map keys come back as strings). Each operation is validated here; a failure
 * while applying names the operation's index (from 0), kind and path.
 */
export function jsonPatchOpsFromDefinitions(items: readonly YamlValue[], source: string): Op {
  const operations = items.map((item, i) => {
    try {
      return decodeOperation(item);
    } catch (err) {
      throw new PatchError(`Building ops from ops-file '${source}'`, {
        cause: new PatchError(`RFC 6902 operation [${i}]`, { cause: err }),
      });
    }
  });
  return new JsonPatchOps(operations, source);
}

/** A JSON Patch document kept as YamlValues; plain copies are made on every apply. */
interface StoredOperation {
  readonly op: string;
  readonly path: string;
  readonly from: string | undefined;
  readonly value: YamlValue | undefined;
}

class JsonPatchOps implements Op {
  constructor(
    readonly operations: readonly StoredOperation[],
    readonly source: string,
  ) {}

  apply(doc: YamlValue): YamlValue {
    let plain = toPlain(doc);
    this.operations.forEach((operation, i) => {
      try {
        plain = jsonpatch().compile([toPlainOperation(operation)])(plain);
        // json-patch's copy puts the very same object at both places; RFC 6902 wants a copy
        if (operation.op === 'copy') plain = toPlain(fromPlain(plain));
      } catch (err) {
        const what = new PatchError(`RFC 6902 ${operation.op} at '${operation.path}'`, { cause: err });
        throw new PatchError(`Error 'operation [${i}] in ${this.source} failed'`, { cause: what });
      }
    });
    return fromPlain(plain);
  }
}

function decodeOperation(item: YamlValue): StoredOperation {
  if (!isMap(item)) throw new PatchError(`Expected an operation map but found '${describe(item)}'`);
  const op = item.get('op');
  if (typeof op !== 'string' || !OPERATIONS.has(op)) {
    throw new PatchError(
      `Expected 'op' to be one of add, remove, replace, move, copy, test but found '${describe(op)}'`,
    );
  }
  const path = item.get('path');
  if (typeof path !== 'string') throw new PatchError(`Missing path (a string) in '${op}' operation`);
  const from = item.get('from');
  if ((op === 'move' || op === 'copy') && typeof from !== 'string') {
    throw new PatchError(`Missing from (a string) in '${op}' operation`);
  }
  if ((op === 'add' || op === 'replace' || op === 'test') && !item.has('value')) {
    throw new PatchError(`Missing value in '${op}' operation`);
  }
  const stored: StoredOperation = {
    op,
    path,
    from: typeof from === 'string' ? from : undefined,
    value: item.has('value') ? (item.get('value') ?? null) : undefined,
  };
  // let the library reject what it would reject (pointers, moves into their own children)
  jsonpatch().compile([toPlainOperation(stored)]);
  return stored;
}

function toPlainOperation(operation: StoredOperation): JsonPatchOperation {
  const plain: { op: string; path: string; from?: string; value?: Plain } = { op: operation.op, path: operation.path };
  if (operation.from !== undefined) plain.from = operation.from;
  if (operation.value !== undefined) plain.value = toPlain(operation.value);
  return plain;
}

function describe(v: YamlValue | undefined): string {
  if (v === undefined) return '';
  if (isArray(v)) return 'a sequence';
  if (isMap(v)) return 'a map';
  return String(v);
}
