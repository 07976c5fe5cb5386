import type { YamlValue } from '../value.js';
import type { VariableStore } from './variables.js';

/** A VariableStore in memory (tests, and `int` without `--vars-store` when generation is wanted). */
export class MemoryVariableStore implements VariableStore {
  private readonly values: Map<string, YamlValue>;

  constructor(initial: Iterable<readonly [string, YamlValue]> = []) {
    this.values = new Map(initial);
  }

  get(name: string): Promise<YamlValue | undefined> {
    return Promise.resolve(this.values.get(name));
  }

  put(name: string, value: YamlValue): Promise<void> {
    this.values.set(name, value);
    return Promise.resolve();
  }

  names(): Promise<readonly string[]> {
    return Promise.resolve([...this.values.keys()]);
  }
}
