export type {
  Modifier,
  Token,
  RootToken,
  IndexToken,
  AfterLastIndexToken,
  MatchingIndexToken,
  KeyToken,
} from './tokens.js';
export { Pointer, parsePointer } from './pointer.js';
export {
  PatchError,
  MismatchTypeError,
  MissingMapKeyError,
  MissingIndexError,
  MultipleMatchingIndexError,
  UnexpectedTokenError,
} from './errors.js';
export type { Op } from './ops.js';
export { Ops, ErrOp } from './ops.js';
export { ReplaceOp } from './replace-op.js';
export { RemoveOp } from './remove-op.js';
export { TestOp } from './test-op.js';
export { FindOp } from './find-op.js';
export { DescriptiveOp } from './descriptive-op.js';
export type { OpDefinition } from './op-definitions.js';
export { opsFromDefinitions, newOpsFromDefinitions } from './op-definitions.js';
export { isJsonPatchDocument } from './json-patch-ops.js';
