import type { YamlValue } from '../value.js';
import { PatchError } from './errors.js';
import type { Op } from './ops.js';

/**
 * go-patch's DescriptiveOp (an op definition's `error:` field): a failure reads
 * "Error '<errorMsg>': <the op's error>" — here as a PatchError whose cause is the op's error.
 */
export class DescriptiveOp implements Op {
  constructor(
    readonly op: Op,
    readonly errorMsg: string,
  ) {}

  apply(doc: YamlValue): YamlValue {
    try {
      return this.op.apply(doc);
    } catch (err) {
      throw new PatchError(`Error '${this.errorMsg}'`, { cause: err });
    }
  }
}
