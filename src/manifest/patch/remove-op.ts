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

const UNCHANGED: unique symbol = Symbol('unchanged');

/**
 * go-patch's RemoveOp: removes the map key or array item at `path`. An optional (`?`) key or
 * selector that is missing anywhere along the path leaves the document as it is; `-` and the
 * whole document (`''`) cannot be removed.
 */
export class RemoveOp implements Op {
  constructor(readonly path: Pointer) {}

  apply(doc: YamlValue): YamlValue {
    if (this.path.tokens.length === 1) throw new PatchError('Cannot remove entire document');
    const result = this.removeAt(doc, 1);
    return result === UNCHANGED ? doc : result;
  }

  private removeAt(obj: YamlValue, i: number): YamlValue | typeof UNCHANGED {
    const tokens = this.path.tokens;
    const token = tokens[i]!;
    const isLast = i === tokens.length - 1;
    const path = () => this.path.prefix(i + 1);

    switch (token.kind) {
      case 'index': {
        if (!isArray(obj)) throw new MismatchTypeError('an array', path(), obj);
        const idx = concreteIndex(token.index, token.modifiers, obj.length, path);
        return isLast ? withoutItem(obj, idx) : withItem(obj, idx, this.removeAt(obj[idx]!, i + 1));
      }

      case 'matching-index': {
        if (!isArray(obj)) throw new MismatchTypeError('an array', path(), obj);
        const idxs = matchingIndexes(obj, token.key, token.value);
        if (token.optional && idxs.length === 0) return UNCHANGED;
        if (idxs.length !== 1) throw new MultipleMatchingIndexError(path(), idxs.length);
        const idx = concreteIndex(idxs[0]!, token.modifiers, obj.length, path);
        return isLast ? withoutItem(obj, idx) : withItem(obj, idx, this.removeAt(obj[idx]!, i + 1));
      }

      case 'key': {
        if (!isMap(obj)) throw new MismatchTypeError('a map', path(), obj);
        if (!obj.has(token.key)) {
          if (token.optional) return UNCHANGED;
          throw new MissingMapKeyError(token.key, path(), obj);
        }
        if (isLast) {
          const copy: YamlMap = new Map(obj);
          copy.delete(token.key);
          return copy;
        }
        const child = this.removeAt(obj.get(token.key)!, i + 1);
        if (child === UNCHANGED) return UNCHANGED;
        const copy: YamlMap = new Map(obj);
        copy.set(token.key, child);
        return copy;
      }

      default:
        throw new UnexpectedTokenError(token, path());
    }
  }
}

function withoutItem(array: readonly YamlValue[], idx: number): YamlValue[] {
  return [...array.slice(0, idx), ...array.slice(idx + 1)];
}

function withItem(
  array: readonly YamlValue[],
  idx: number,
  value: YamlValue | typeof UNCHANGED,
): YamlValue[] | typeof UNCHANGED {
  if (value === UNCHANGED) return UNCHANGED;
  const copy = array.slice();
  copy[idx] = value;
  return copy;
}
