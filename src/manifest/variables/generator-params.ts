import { DirectorError } from '../../errors.js';
import { goTypeName, isArray, isMap } from '../value.js';
import type { YamlValue } from '../value.js';

/**
 * config-server's objToStruct: a generator's `options` must be a map (or absent) whose keys are
 * all supported ("Unsupported parameter 'x'"); values are then read with yaml.v2's decoding
 * rules (a scalar reads as a string; a string does not read as an integer or a boolean).
 * Messages name the parameter and the type found, never the value.
 */
export class GeneratorParams {
  private readonly map: ReadonlyMap<string, YamlValue>;

  constructor(options: YamlValue, supported: readonly string[]) {
    const map = new Map<string, YamlValue>();
    if (options !== null) {
      if (!isMap(options)) {
        throw new DirectorError(
          `Expected input to be deserializable: expected a map of parameters, found '${goTypeName(options)}'`,
        );
      }
      for (const [k, v] of options) map.set(String(k), v);
    }
    for (const key of [...map.keys()].sort()) {
      if (!supported.includes(key)) throw new DirectorError(`Unsupported parameter '${key}'`);
    }
    this.map = map;
  }

  has(key: string): boolean {
    const v = this.map.get(key);
    return v !== undefined && v !== null;
  }

  string(key: string): string {
    const v = this.map.get(key);
    if (v === undefined || v === null) return '';
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v);
    throw this.mismatch(key, v, 'a string');
  }

  integer(key: string): number {
    const v = this.map.get(key);
    if (v === undefined || v === null) return 0;
    if (typeof v === 'number' && Number.isInteger(v)) return v;
    throw this.mismatch(key, v, 'an integer');
  }

  boolean(key: string): boolean {
    const v = this.map.get(key);
    if (v === undefined || v === null) return false;
    if (typeof v === 'boolean') return v;
    throw this.mismatch(key, v, 'a boolean');
  }

  strings(key: string): string[] {
    const v = this.map.get(key);
    if (v === undefined || v === null) return [];
    if (!isArray(v)) throw this.mismatch(key, v, 'a list of strings');
    return v.map((item) => {
      if (typeof item === 'string' || typeof item === 'number' || typeof item === 'boolean') return String(item);
      if (item === null) return '';
      throw this.mismatch(key, item, 'a list of strings');
    });
  }

  private mismatch(key: string, found: YamlValue, expected: string): DirectorError {
    return new DirectorError(`Expected parameter '${key}' to be ${expected}, found '${goTypeName(found)}'`);
  }
}
