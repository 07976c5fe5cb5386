import { DirectorError } from '../../errors.js';
import { goTypeName } from '../value.js';
import type { YamlMap, YamlValue } from '../value.js';
import type { Pointer } from './pointer.js';
import type { Token } from './tokens.js';
import { goTokenTypeName } from './tokens.js';

/**
 * Every failure of parsing a pointer, building ops from an ops-file or applying an op. The message
 * is go-patch's wording verbatim; wrappers (the op's `error:`, the ops-file) are `cause` chains,
 * so `formatErrorChain` prints what bosh-cli prints.
 */
export class PatchError extends DirectorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PatchError';
  }
}

/** go-patch's OpMismatchTypeErr: "Expected to find a map at path '/a' but found '[]interface {}'". */
export class MismatchTypeError extends PatchError {
  constructor(
    readonly expected: 'an array' | 'a map',
    readonly path: Pointer,
    readonly found: YamlValue | undefined,
  ) {
    super(`Expected to find ${expected} at path '${path.toString()}' but found '${goTypeName(found)}'`);
    this.name = 'MismatchTypeError';
  }
}

/** go-patch's OpMissingMapKeyErr, listing the map's other string keys in Go's sort order. */
export class MissingMapKeyError extends PatchError {
  constructor(
    readonly key: string,
    readonly path: Pointer,
    map: YamlMap,
  ) {
    super(`Expected to find a map key '${key}' for path '${path.toString()}' (${siblingKeys(map)})`);
    this.name = 'MissingMapKeyError';
  }
}

/** go-patch's OpMissingIndexErr. */
export class MissingIndexError extends PatchError {
  constructor(
    readonly index: number,
    readonly length: number,
    readonly path: Pointer,
  ) {
    super(
      `Expected to find array index '${index}' but found array of length '${length}' for path '${path.toString()}'`,
    );
    this.name = 'MissingIndexError';
  }
}

/** go-patch's OpMultipleMatchingIndexErr (also raised when nothing matches: "but found 0"). */
export class MultipleMatchingIndexError extends PatchError {
  constructor(
    readonly path: Pointer,
    readonly count: number,
  ) {
    super(`Expected to find exactly one matching array item for path '${path.toString()}' but found ${count}`);
    this.name = 'MultipleMatchingIndexError';
  }
}

/** go-patch's OpUnexpectedTokenErr, e.g. `/-` in a remove. */
export class UnexpectedTokenError extends PatchError {
  constructor(
    readonly token: Token,
    readonly path: Pointer,
  ) {
    super(`Expected to not find token '${goTokenTypeName(token)}' at path '${path.toString()}'`);
    this.name = 'UnexpectedTokenError';
  }
}

function siblingKeys(map: YamlMap): string {
  if (map.size === 0) return 'found no other map keys';
  const keys: string[] = [];
  for (const k of map.keys()) if (typeof k === 'string') keys.push(k);
  keys.sort(compareGoStrings);
  return `found map keys: '${keys.join("', '")}'`;
}

/** Go compares strings byte-wise (UTF-8), which differs from JS's UTF-16 order above U+FFFF. */
export function compareGoStrings(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
