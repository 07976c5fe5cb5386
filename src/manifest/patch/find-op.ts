import { isArray, isMap } from '../value.js';
import type { YamlMap, YamlValue } from '../value.js';
import { concreteIndex } from './array-index.js';
import {
  MismatchTypeError,
  MissingMapKeyError,
  MultipleMatchingIndexError,
  PatchError,
  UnexpectedTokenError,
} from './errors.js';
import { matchingIndexes } from './matching.js';
import type { Op } from './ops.js';
import type { Pointer } from './pointer.js';

/**
 * go-patch's FindOp: `apply` returns the value at `path` (not a document). A missing optional key
 * yields null; a missing optional selector yields `{key: value}`; `-` is not supported.
 * Used by the test op and by `((var.sub.key))` lookups.
 */
export class FindOp implements Op {
  constructor(readonly path: Pointer) {}

  apply(doc: YamlValue): YamlValue {
    const tokens = this.path.tokens;
    let obj = doc;
    for (let i = 1; i < tokens.length; i++) {
      const token = tokens[i]!;
      const isLast = i === tokens.length - 1;
      const path = () => this.path.prefix(i + 1);

      switch (token.kind) {
        case 'index': {
          if (!isArray(obj)) throw new MismatchTypeError('an array', path(), obj);
          obj = obj[concreteIndex(token.index, token.modifiers, obj.length, path)]!;
          break;
        }

        case 'after-last-index':
          throw new PatchError(
            `Expected not to find after last index token in path '${this.path.toString()}' (not supported in find operations)`,
          );

        case 'matching-index': {
          if (!isArray(obj)) throw new MismatchTypeError('an array', path(), obj);
          const idxs = matchingIndexes(obj, token.key, token.value);
          if (token.optional && idxs.length === 0) {
            obj = new Map([[token.key, token.value]]) as YamlMap;
          } else {
            if (idxs.length !== 1) throw new MultipleMatchingIndexError(path(), idxs.length);
            obj = obj[concreteIndex(idxs[0]!, token.modifiers, obj.length, path)]!;
          }
          break;
        }

        case 'key': {
          if (!isMap(obj)) throw new MismatchTypeError('a map', path(), obj);
          const found = obj.has(token.key);
          if (!found && !token.optional) throw new MissingMapKeyError(token.key, path(), obj);
          if (found) {
            obj = obj.get(token.key)!;
          } else if (isLast) {
            obj = null;
          } else {
            const next = tokens[i + 1]!;
            if (next.kind === 'matching-index') obj = [];
            else if (next.kind === 'key') obj = new Map();
            else {
              throw new PatchError(
                `Expected to find key or matching index token at path '${this.path.prefix(i + 2).toString()}'`,
              );
            }
          }
          break;
        }

        default:
          throw new UnexpectedTokenError(token, path());
      }
    }
    return obj;
  }
}
