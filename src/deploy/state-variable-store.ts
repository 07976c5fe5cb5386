import type { VariableStore } from '../manifest/variables/index.js';
import { fromPlain, toPlain, type YamlValue } from '../manifest/value.js';
import type { JsonValue, StateStore } from '../state/index.js';

/**
 * The director's own config server: a deployment's generated credentials, kept in the state
 * (never printed; `director variables` lists names and ids only).
 */
export class StateVariableStore implements VariableStore {
  constructor(
    private readonly store: StateStore,
    private readonly deployment: string,
  ) {}

  async get(name: string): Promise<YamlValue | undefined> {
    const v = this.store.variables.get(this.deployment, name);
    return v === undefined ? undefined : fromPlain(v.value);
  }

  async put(name: string, value: YamlValue): Promise<void> {
    this.store.variables.put(this.deployment, name, toPlain(value) as JsonValue);
  }

  async names(): Promise<readonly string[]> {
    return this.store.variables.list(this.deployment).map((v) => v.name);
  }
}
