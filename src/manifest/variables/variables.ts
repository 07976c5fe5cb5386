import type { YamlValue } from '../value.js';

/**
 * One entry of a manifest's `variables:` section, as bosh-cli decodes it (`name`, `type`,
 * `options`; other keys such as `update_mode` or `consumes` are ignored, as bosh-cli does).
 */
export interface VariableDefinition {
  readonly name: string;
  /** `password`, `certificate`, `rsa`, `ssh`, `user`; empty when the entry has no type. */
  readonly type: string;
  readonly options: YamlValue;
}

/** Values given on the command line (`-v`, `--var-file`, `-l`, `--vars-env`); never generates. */
export interface Variables {
  /** The value of a top-level name, `undefined` when there is none (`null` is a value). */
  get(name: string): YamlValue | undefined;
  /** Every top-level name (what `--var-errs-unused` checks). */
  names(): readonly string[];
}

/**
 * Where generated values are kept (`--vars-store` file now, the director's database later).
 * Values are secrets: implementations never log them and never put them in errors.
 */
export interface VariableStore {
  /** The stored value, `undefined` when the name has none. */
  get(name: string): Promise<YamlValue | undefined>;
  /** Stores a value durably: when the promise resolves, a crash loses nothing. */
  put(name: string, value: YamlValue): Promise<void>;
  /** Every stored name (what `--var-errs-unused` checks, as bosh-cli lists its vars store). */
  names(): Promise<readonly string[]>;
}
