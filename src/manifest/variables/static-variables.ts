import { clone, isMap } from '../value.js';
import type { YamlMap, YamlValue } from '../value.js';
import type { Variables } from './variables.js';

/**
 * bosh-cli's StaticVariables: named values where a dotted name (`-v a.b=1`) sets a key inside a
 * map (`a: {b: 1}`). bosh-cli resolves a clash between `a` and `a.b` in Go's random map order;
 * here plain names are applied first and dotted names are merged into them (a non-map is
 * replaced by a map), so the result is deterministic.
 */
export class StaticVariables implements Variables {
  private readonly raw: Map<string, YamlValue>;
  private cache: Map<string, YamlValue> | undefined;

  constructor(entries: Iterable<readonly [string, YamlValue]> = []) {
    this.raw = new Map(entries);
  }

  /** The values as given (dotted names not yet expanded), in the order they were set. */
  entries(): ReadonlyMap<string, YamlValue> {
    return this.raw;
  }

  get(name: string): YamlValue | undefined {
    return this.processed().get(name);
  }

  names(): readonly string[] {
    return [...this.processed().keys()];
  }

  private processed(): Map<string, YamlValue> {
    if (this.cache !== undefined) return this.cache;
    const out = new Map<string, YamlValue>();
    const dotted: [string[], YamlValue][] = [];
    for (const [name, value] of this.raw) {
      const pieces = name.split('.');
      if (pieces.length === 1) out.set(name, value);
      else dotted.push([pieces, value]);
    }
    const copied = new Set<string>(); // maps given by the user are copied before a dotted name writes into them
    for (const [pieces, value] of dotted) {
      const first = pieces[0]!;
      let current = out.get(first);
      if (!isMap(current)) {
        current = new Map();
        out.set(first, current);
      } else if (!copied.has(first)) {
        current = clone(current);
        out.set(first, current);
      }
      copied.add(first);
      let map: YamlMap = current;
      for (const piece of pieces.slice(1, -1)) {
        let next = map.get(piece);
        if (!isMap(next)) {
          next = new Map();
          map.set(piece, next);
        }
        map = next;
      }
      map.set(pieces[pieces.length - 1]!, value);
    }
    this.cache = out;
    return out;
  }
}
