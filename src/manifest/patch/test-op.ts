import { deepEqual } from '../value.js';
import type { YamlValue } from '../value.js';
import { MissingIndexError, MissingMapKeyError, PatchError } from './errors.js';
import { FindOp } from './find-op.js';
import type { Op } from './ops.js';
import type { Pointer } from './pointer.js';

/**
 * go-patch's TestOp: with `absent`, succeeds only if the last token of `path` is missing (a
 * missing parent is still an error); otherwise the value at `path` must deep-equal `value`.
 * Returns the document unchanged.
 */
export class TestOp implements Op {
  constructor(
    readonly path: Pointer,
    readonly value: YamlValue,
    readonly absent: boolean = false,
  ) {}

  apply(doc: YamlValue): YamlValue {
    return this.absent ? this.checkAbsence(doc) : this.checkValue(doc);
  }

  private checkAbsence(doc: YamlValue): YamlValue {
    try {
      new FindOp(this.path).apply(doc);
    } catch (err) {
      if (
        (err instanceof MissingIndexError || err instanceof MissingMapKeyError) &&
        err.path.toString() === this.path.toString()
      ) {
        return doc;
      }
      throw err;
    }
    throw new PatchError(`Expected to not find '${this.path.toString()}'`);
  }

  private checkValue(doc: YamlValue): YamlValue {
    const found = new FindOp(this.path).apply(doc);
    if (!deepEqual(found, this.value)) throw new PatchError('Found value does not match expected value');
    return doc;
  }
}
