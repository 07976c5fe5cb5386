import { isMap } from '../value.js';
import type { YamlValue } from '../value.js';

/**
 * Indexes of the items that are maps whose string key `key` holds exactly the string `value`
 * (Go's `item[key] == value` on interface{} values: `name: 1` does not match `name=1`).
 */
export function matchingIndexes(array: readonly YamlValue[], key: string, value: string): number[] {
  const idxs: number[] = [];
  array.forEach((item, idx) => {
    if (isMap(item) && item.get(key) === value) idxs.push(idx);
  });
  return idxs;
}
