import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { DirectorError } from '../../errors.js';
import { goTypeName, isMap } from '../value.js';
import type { YamlMap, YamlValue } from '../value.js';
import { parseYamlNamedKeys, stringifyYaml } from '../yaml.js';
import { expandPath } from './var-flags.js';
import type { VariableStore } from './variables.js';

/**
 * `--vars-store PATH`: bosh-cli's VarsFSStore, a YAML map of name to value. The file is read
 * once; every `put` rewrites it whole — names sorted, as yaml.v2 prints a map — to a temporary
 * file in the same folder (mode 0600, fsynced) that is then renamed over it, so the store is
 * always either the old or the new content, and always 0600 (also when it existed with a
 * wider mode: it holds private keys). Writes are serialized; puts made while one is under way
 * are written together by the next, and each put resolves once a write holding it is done.
 */
export class FileVarsStore implements VariableStore {
  private loaded: Promise<Map<string, YamlValue>> | undefined;
  private writing: Promise<void> = Promise.resolve();
  /** Values put but not yet written, and the write that will take them (not started yet). */
  private pending = new Map<string, YamlValue>();
  private next: Promise<void> | undefined;

  /** `path` is used as given; see `fromFlag` for `~` and relative paths. */
  constructor(readonly path: string) {}

  /** The store of a `--vars-store` flag value. */
  static fromFlag(value: string, cwd: string, home?: string): FileVarsStore {
    if (value.length === 0) throw new DirectorError('Expected file path to be non-empty');
    return new FileVarsStore(expandPath(value, cwd, home));
  }

  async get(name: string): Promise<YamlValue | undefined> {
    return (await this.load()).get(name);
  }

  async names(): Promise<readonly string[]> {
    return [...(await this.load()).keys()];
  }

  put(name: string, value: YamlValue): Promise<void> {
    this.pending.set(name, value);
    // Puts made while a write is under way (or waiting) share the next write: a whole-file
    // rewrite each, as bosh-cli does, would cost one fsync per generated variable.
    this.next ??= this.writing.then(() => this.writePending());
    const write = this.next;
    this.writing = write.catch(() => undefined);
    return write;
  }

  private async writePending(): Promise<void> {
    this.next = undefined;
    const batch = this.pending;
    this.pending = new Map();
    const vars = await this.load();
    await this.save(new Map([...vars, ...batch]));
    for (const [name, value] of batch) vars.set(name, value);
  }

  private load(): Promise<Map<string, YamlValue>> {
    this.loaded ??= this.read();
    return this.loaded;
  }

  private async read(): Promise<Map<string, YamlValue>> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
      throw new DirectorError(`Reading variables file store '${this.path}'`, { cause: err });
    }
    let doc: YamlValue;
    try {
      doc = parseYamlNamedKeys(text, this.path);
    } catch (err) {
      throw new DirectorError(`Deserializing variables file store '${this.path}'`, { cause: err });
    }
    if (doc === null) return new Map();
    if (!isMap(doc)) {
      throw new DirectorError(
        `Deserializing variables file store '${this.path}': expected a map, found '${goTypeName(doc)}'`,
      );
    }
    return new Map([...doc].map(([k, v]) => [String(k), v]));
  }

  private async save(vars: ReadonlyMap<string, YamlValue>): Promise<void> {
    const sorted: YamlMap = new Map([...vars].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    let text: string;
    try {
      text = stringifyYaml(sorted);
    } catch (err) {
      throw new DirectorError('Serializing variables', { cause: err });
    }
    const dir = dirname(this.path);
    const { randomBytes } = await import('node:crypto'); // not at start-up: int without a store needs none
    const tmp = join(dir, `.${basename(this.path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 }); // the folders it creates hold secrets' file
      const handle = await open(tmp, 'wx', 0o600);
      try {
        await handle.writeFile(text, 'utf8');
        await handle.chmod(0o600); // the umask may have narrowed it; never widened
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tmp, this.path);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw new DirectorError(`Writing variables to file store '${this.path}'`, { cause: err });
    }
  }
}
