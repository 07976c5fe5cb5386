import { clone, isArray, isMap } from '../value.js';
import type { YamlMap, YamlValue } from '../value.js';
import { concreteIndex, concreteInsertion, updateArray } from './array-index.js';
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
 * go-patch's ReplaceOp: sets the value at `path`, creating what `?` allows along the way
 * (a map for a following key, an array for a following `-` or `key=value`, a `{key: value}` item
 * for an unmatched optional selector), appends with `-`, inserts with `:before`/`:after`, and
 * replaces the whole document when the path is `''`. The value is copied on every apply.
 */
export class ReplaceOp implements Op {
  constructor(
    readonly path: Pointer,
    readonly value: YamlValue,
  ) {}

  apply(doc: YamlValue): YamlValue {
    const value = clone(this.value);
    if (this.path.tokens.length === 1) return value;
    return this.replaceAt(doc, 1, value);
  }

  /** Returns what replaces `obj` (the node reached by tokens before `i`) in its parent. */
  private replaceAt(obj: YamlValue, i: number, value: YamlValue): YamlValue {
    const tokens = this.path.tokens;
    const token = tokens[i]!;
    const isLast = i === tokens.length - 1;
    const path = () => this.path.prefix(i + 1);

    switch (token.kind) {
      case 'index': {
        if (!isArray(obj)) throw new MismatchTypeError('an array', path(), obj);
        if (isLast) return updateArray(obj, concreteInsertion(token.index, token.modifiers, obj.length, path), value);
        const idx = concreteIndex(token.index, token.modifiers, obj.length, path);
        return withItem(obj, idx, this.replaceAt(obj[idx]!, i + 1, value));
      }

      case 'after-last-index': {
        if (!isArray(obj)) throw new MismatchTypeError('an array', path(), obj);
        if (isLast) return [...obj, value];
        throw new PatchError(`Expected after last index token to be last in path '${this.path.toString()}'`);
      }

      case 'matching-index': {
        if (!isArray(obj)) throw new MismatchTypeError('an array', path(), obj);
        const idxs = matchingIndexes(obj, token.key, token.value);
        if (token.optional && idxs.length === 0) {
          if (isLast) return [...obj, value];
          const item: YamlMap = new Map([[token.key, token.value]]);
          return [...obj, this.replaceAt(item, i + 1, value)];
        }
        if (idxs.length !== 1) throw new MultipleMatchingIndexError(path(), idxs.length);
        if (isLast) return updateArray(obj, concreteInsertion(idxs[0]!, token.modifiers, obj.length, path), value);
        const idx = concreteIndex(idxs[0]!, token.modifiers, obj.length, path);
        return withItem(obj, idx, this.replaceAt(obj[idx]!, i + 1, value));
      }

      case 'key': {
        if (!isMap(obj)) throw new MismatchTypeError('a map', path(), obj);
        const found = obj.has(token.key);
        if (!found && !token.optional) throw new MissingMapKeyError(token.key, path(), obj);
        if (isLast) return withKey(obj, token.key, value);
        let child: YamlValue;
        if (found) {
          child = obj.get(token.key)!;
        } else {
          // what to create is decided by the next token, as in go-patch
          const next = tokens[i + 1]!;
          if (next.kind === 'after-last-index' || next.kind === 'matching-index') child = [];
          else if (next.kind === 'key') child = new Map();
          else {
            throw new PatchError(
              `Expected to find key, matching index or after last index token at path '${this.path.prefix(i + 2).toString()}'`,
            );
          }
        }
        return withKey(obj, token.key, this.replaceAt(child, i + 1, value));
      }

      default:
        throw new UnexpectedTokenError(token, path());
    }
  }
}

function withItem(array: readonly YamlValue[], idx: number, value: YamlValue): YamlValue[] {
  const copy = array.slice();
  copy[idx] = value;
  return copy;
}

function withKey(map: YamlMap, key: string, value: YamlValue): YamlMap {
  const copy: YamlMap = new Map(map);
  copy.set(key, value);
  return copy;
}
