import { gzipSync } from 'node:zlib';
import { Header, Pax, Parser, type ReadEntry } from 'tar';
import { DirectorError } from '../errors.js';

/**
 * Release blobs (jobs and packages) as tar archives, encoded and parsed by node-tar. Packing is
 * deterministic — sorted entries, mtime 0, uid/gid 0 — so the same content always makes the
 * same bytes and therefore the same content address. Both directions are synchronous because
 * the release view loads job blobs lazily from synchronous planner code.
 */
export interface TarEntry {
  /** Relative path with '/' separators; a trailing '/' marks a directory. */
  readonly path: string;
  /** File mode bits (e.g. 0o755 for executables). */
  readonly mode: number;
  /** File content; absent for directories. */
  readonly data?: Buffer;
}

const BLOCK = 512;
const EPOCH = new Date(0);

/** One entry's header blocks (a PAX record first when its path does not fit ustar), body and padding. */
function entryBlocks(e: TarEntry): Buffer[] {
  const isDir = e.path.endsWith('/');
  const data = isDir ? Buffer.alloc(0) : (e.data ?? Buffer.alloc(0));
  const header = new Header({
    path: e.path,
    mode: e.mode & 0o7777,
    uid: 0,
    gid: 0,
    size: data.length,
    mtime: EPOCH,
    type: isDir ? 'Directory' : 'File',
  });
  const out: Buffer[] = [];
  if (header.encode()) out.push(new Pax({ path: e.path, mtime: EPOCH }).encode());
  out.push(header.block!);
  if (data.length > 0) out.push(data, Buffer.alloc((BLOCK - (data.length % BLOCK)) % BLOCK));
  return out;
}

/** Packs entries (sorted by path) into a gzip-compressed tar. */
export function packTgz(entries: readonly TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)))
    parts.push(...entryBlocks(e));
  parts.push(Buffer.alloc(BLOCK * 2));
  return gzipSync(Buffer.concat(parts), { level: 9 });
}

/** Reads a (possibly gzip-compressed) tar: regular files and directories; other types are skipped. */
export function unpackTar(archive: Buffer): TarEntry[] {
  const out: TarEntry[] = [];
  let failure: Error | undefined;
  const parser = new Parser({
    strict: true,
    zstd: false,
    onReadEntry: (entry: ReadEntry) => {
      const path = entry.path.replace(/^(\.\/)+/, '');
      const mode = entry.mode ?? 0;
      if (entry.type === 'Directory') {
        if (path !== '' && path !== './') out.push({ path: path.endsWith('/') ? path : `${path}/`, mode });
        entry.resume();
      } else if (entry.type === 'File' || entry.type === 'OldFile' || entry.type === 'ContiguousFile') {
        const chunks: Buffer[] = [];
        entry.on('data', (c: Buffer) => chunks.push(c));
        entry.on('end', () => out.push({ path, mode, data: Buffer.concat(chunks) }));
      } else {
        entry.resume();
      }
    },
  });
  parser.on('error', (err: Error) => (failure ??= err));
  // node-tar parses a whole buffer synchronously: every entry has been read when end() returns.
  parser.end(archive);
  if (failure) throw new DirectorError(`Reading tar archive: ${failure.message}`);
  return out;
}
