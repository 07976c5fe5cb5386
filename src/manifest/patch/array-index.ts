import { MissingIndexError, PatchError } from './errors.js';
import type { Pointer } from './pointer.js';
import type { Modifier } from './tokens.js';
import { goModifierTypeName } from './tokens.js';

/** The path walked so far, built only when an error needs to print it. */
export type PathThunk = () => Pointer;

/**
 * go-patch's ArrayIndex.Concrete: applies `:prev`/`:next`, then resolves a negative index from
 * the end; the index must name an existing item.
 */
export function concreteIndex(index: number, modifiers: readonly Modifier[], length: number, path: PathThunk): number {
  let result = index;
  for (const modifier of modifiers) {
    if (modifier === 'prev') result -= 1;
    else if (modifier === 'next') result += 1;
    else {
      throw new PatchError(
        `Expected to find one of the following modifiers: 'prev', 'next', but found modifier '${goModifierTypeName(modifier)}'`,
      );
    }
  }
  if (result >= length || -result - 1 >= length) throw new MissingIndexError(result, length, path());
  return result < 0 ? length + result : result;
}

/** Where a replace at an array index writes: over an item, or inserted before `number`. */
export interface ArrayInsertionIndex {
  readonly number: number;
  readonly insert: boolean;
}

/** go-patch's ArrayInsertion.Concrete: `:before`/`:after` must come last and turn a set into an insert. */
export function concreteInsertion(
  index: number,
  modifiers: readonly Modifier[],
  length: number,
  path: PathThunk,
): ArrayInsertionIndex {
  const mods: Modifier[] = [];
  let before = false;
  let after = false;
  for (const modifier of modifiers) {
    if (before || after) {
      throw new PatchError(
        `Expected to not find any modifiers after '${before ? 'before' : 'after'}' modifier, but found modifier '${goModifierTypeName(modifier)}'`,
      );
    }
    if (modifier === 'before') before = true;
    else if (modifier === 'after') after = true;
    else mods.push(modifier);
  }
  let number = concreteIndex(index, mods, length, path);
  if (after && number !== length) number += 1;
  return { number, insert: before || after };
}

/** A new array with `value` set at, or inserted before, the concrete index. */
export function updateArray<T>(array: readonly T[], at: ArrayInsertionIndex, value: T): T[] {
  if (at.insert) return [...array.slice(0, at.number), value, ...array.slice(at.number)];
  const copy = array.slice();
  copy[at.number] = value;
  return copy;
}
