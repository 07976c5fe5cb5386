import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { DirectorError } from '../errors.js';
import { SyncWorker } from '../state/sync-worker.js';
import type { AzureBlobRequest, AzureBlobSetup } from './azure-blob-protocol.js';

/**
 * A content-addressed blobstore: one folder (mode 0700) of files (mode 0600) named by the
 * sha256 of their content. Writes are atomic (temp file, fsync, rename), so a blob that exists
 * is always complete, and putting the same content twice is a no-op.
 */
export interface Blobstore {
  /** The folder holding the blobs. */
  readonly dir: string;
  /** Stores `data`; returns its sha256 (the blob id). */
  put(data: Buffer): string;
  /** The blob's content; DirectorError if absent or corrupted. */
  get(id: string): Buffer;
  has(id: string): boolean;
  /** Absolute path of a blob (for handing it to an uploader). */
  path(id: string): string;
  /** Records that `key` (e.g. `sha512-<hex>`) names blob `id`. */
  setAlias(key: string, id: string): void;
  /** The blob `key` names, if recorded and present. */
  alias(key: string): string | undefined;
}

const ID = /^[0-9a-f]{64}$/;

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Opens (creating it if needed) the blobstore in `dir`. */
export function openBlobstore(dir: string): Blobstore {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
  } catch (err) {
    throw new DirectorError(`Opening blobstore '${dir}'`, { cause: err });
  }
  const path = (id: string) => {
    if (!ID.test(id)) throw new DirectorError(`Invalid blob id '${id}'`);
    return join(dir, id);
  };
  return {
    dir,
    path,
    has: (id) => existsSync(path(id)),
    put(data) {
      const id = sha256(data);
      const dest = path(id);
      if (existsSync(dest) && statSync(dest).size === data.length) return id;
      const tmp = join(dir, `.tmp-${id}-${randomBytes(6).toString('hex')}`);
      try {
        const fd = openSync(tmp, 'wx', 0o600);
        try {
          writeSync(fd, data);
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
        renameSync(tmp, dest);
      } catch (err) {
        rmSync(tmp, { force: true });
        throw new DirectorError(`Writing blob ${id} to '${dir}'`, { cause: err });
      }
      return id;
    },
    setAlias(key, id) {
      if (!/^[a-z0-9-]{1,200}$/.test(key)) throw new DirectorError(`Invalid blob alias '${key}'`);
      mkdirSync(join(dir, 'aliases'), { recursive: true, mode: 0o700 });
      const tmp = join(dir, 'aliases', `.tmp-${key}-${randomBytes(6).toString('hex')}`);
      writeFileSync(tmp, id, { mode: 0o600 });
      renameSync(tmp, join(dir, 'aliases', key));
    },
    alias(key) {
      const f = join(dir, 'aliases', key);
      if (!/^[a-z0-9-]{1,200}$/.test(key) || !existsSync(f)) return undefined;
      const id = readFileSync(f, 'utf8').trim();
      return ID.test(id) && existsSync(path(id)) ? id : undefined;
    },
    get(id) {
      let data: Buffer;
      try {
        data = readFileSync(path(id));
      } catch (err) {
        throw new DirectorError(`Reading blob ${id} from '${dir}'`, { cause: err });
      }
      if (sha256(data) !== id)
        throw new DirectorError(`Reading blob ${id} from '${dir}': content does not match its sha256 (corrupted)`);
      return data;
    },
  };
}

/**
 * A blobstore whose blobs live in an Azure Blob container, named by their sha256 (aliases as
 * `aliases/<key>` holding the id), with a local cache in `cacheDir` (the local blobstore's
 * layout). A put writes the cache and uploads the blob unless the container has it; a get reads
 * the cache, else downloads into it; every read is checked against the blob's sha256, so a blob
 * corrupted in the container or the cache is refused, never used. The Azure SDK runs in a worker
 * thread (the port is synchronous, see state/sync-worker.ts).
 */
export function openAzureBlobstore(cacheDir: string, setup: AzureBlobSetup): Blobstore & { close(): void } {
  const where = `Azure Blob container '${setup.container}'`;
  const cache = openBlobstore(cacheDir);
  const worker = new SyncWorker(new URL('./azure-blob-worker.js', import.meta.url), setup, `Blobstore (${where})`);
  const call = <T>(req: AzureBlobRequest, doing: string): T => {
    try {
      return worker.call<T>(req);
    } catch (err) {
      throw new DirectorError(`${doing} ${where}`, { cause: err });
    }
  };
  try {
    call({ op: 'open' }, 'Opening');
  } catch (err) {
    worker.close();
    throw err;
  }
  const fetch = (id: string): void => {
    if (cache.has(id)) return;
    const tmp = join(cacheDir, `.download-${id}-${randomBytes(6).toString('hex')}`);
    try {
      call({ op: 'download', name: id, file: tmp }, `Reading blob ${id} from`);
      const data = readFileSync(tmp);
      if (sha256(data) !== id)
        throw new DirectorError(`Reading blob ${id} from ${where}: content does not match its sha256 (corrupted)`);
      cache.put(data);
    } finally {
      rmSync(tmp, { force: true });
    }
  };
  return {
    dir: cacheDir,
    put(data) {
      const id = cache.put(data);
      call({ op: 'upload', name: id, file: cache.path(id) }, `Writing blob ${id} to`);
      return id;
    },
    get(id) {
      fetch(id);
      return cache.get(id);
    },
    has(id) {
      if (cache.has(id)) return true; // (checks the id, too)
      return call<boolean>({ op: 'has', name: id }, `Looking blob ${id} up in`);
    },
    path(id) {
      fetch(id);
      cache.get(id); // verified, as every read is
      return cache.path(id);
    },
    setAlias(key, id) {
      if (!/^[a-z0-9-]{1,200}$/.test(key)) throw new DirectorError(`Invalid blob alias '${key}'`);
      call({ op: 'putText', name: `aliases/${key}`, text: id }, `Writing alias '${key}' to`);
      cache.setAlias(key, id);
    },
    alias(key) {
      const local = cache.alias(key);
      if (local !== undefined) return local;
      if (!/^[a-z0-9-]{1,200}$/.test(key)) return undefined;
      const id = call<string | null>({ op: 'getText', name: `aliases/${key}` }, `Reading alias '${key}' from`)?.trim();
      if (id === undefined || !ID.test(id)) return undefined;
      try {
        fetch(id);
      } catch {
        return undefined;
      }
      cache.setAlias(key, id);
      return id;
    },
    close: () => worker.close(),
  };
}

/**
 * The blobstore of an environment: the folder `blobs` under its local folder, or an Azure Blob
 * container (cached in that folder) when `remote` names one.
 */
export function environmentBlobstore(localDir: string, remote: AzureBlobSetup | undefined): Blobstore {
  const dir = join(localDir, 'blobs');
  return remote === undefined ? openBlobstore(dir) : openAzureBlobstore(dir, remote);
}
