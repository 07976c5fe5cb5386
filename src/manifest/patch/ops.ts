import type { YamlValue } from '../value.js';

/**
 * One operation on a document (go-patch's Op). `apply` returns the new document and never
 * mutates its input: it copies only the maps and arrays along the path it changes, so the
 * result shares every untouched subtree with the input. Treat documents as immutable values.
 * Failures throw PatchError (see errors.ts) with go-patch's message.
 */
export interface Op {
  apply(doc: YamlValue): YamlValue;
}

/** A list of ops is an op: each applies to the previous one's result; the first failure stops it. */
export class Ops implements Op {
  readonly ops: readonly Op[];

  constructor(ops: readonly Op[]) {
    this.ops = ops;
  }

  apply(doc: YamlValue): YamlValue {
    let result = doc;
    for (const op of this.ops) result = op.apply(result);
    return result;
  }
}

/** go-patch's ErrOp: an op that always fails with `err`. */
export class ErrOp implements Op {
  constructor(readonly err: Error) {}

  apply(_doc: YamlValue): YamlValue {
    throw this.err;
  }
}
