// Tar archives for the agent, through node-tar (bundled into the agent's one file): headers
// encoded by its Header/Pax (PAX `path`/`linkpath` records for long names), archives read by its
// Parser and unpacked by its extractor, which refuses `..`, absolute paths and links that escape,
// and never writes through a symlink.
import { mkdirSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { Header } from 'tar/header';
import { Parser } from 'tar/parse';
import { Pax } from 'tar/pax';
import type { ReadEntry } from 'tar/read-entry';
import { UnpackSync } from 'tar/unpack';

export type TarEntryType = 'file' | 'dir' | 'symlink';

export interface TarEntry {
  /** POSIX path inside the archive, no leading '/'. */
  readonly path: string;
  readonly type: TarEntryType;
  readonly mode: number;
  /** Seconds since the epoch. */
  readonly mtime: number;
  readonly data?: Buffer;
  readonly linkname?: string;
}

const BLOCK = 512;
const HEADER_TYPE = { file: 'File', dir: 'Directory', symlink: 'SymbolicLink' } as const;

/** The blocks of one entry (a PAX header first when a name does not fit ustar). */
export function tarEntryBlocks(entry: TarEntry): Buffer[] {
  const path = entry.type === 'dir' && !entry.path.endsWith('/') ? `${entry.path}/` : entry.path;
  const data = entry.type === 'file' ? (entry.data ?? Buffer.alloc(0)) : Buffer.alloc(0);
  const mtime = new Date(Math.max(0, Math.floor(entry.mtime)) * 1000);
  const linkpath = entry.type === 'symlink' ? (entry.linkname ?? '') : undefined;
  const header = new Header({
    path,
    mode: entry.mode & 0o7777,
    uid: 0,
    gid: 0,
    uname: 'root',
    gname: 'root',
    size: data.length,
    mtime,
    type: HEADER_TYPE[entry.type],
    linkpath,
  });
  const out: Buffer[] = [];
  if (header.encode()) out.push(new Pax({ path, linkpath, mtime }).encode());
  out.push(header.block!);
  if (data.length > 0) out.push(data, Buffer.alloc((BLOCK - (data.length % BLOCK)) % BLOCK));
  return out;
}

/** The two zero blocks that end an archive. */
export function tarEnd(): Buffer {
  return Buffer.alloc(BLOCK * 2);
}

/** A whole archive in memory. */
export function writeTar(entries: Iterable<TarEntry>): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) parts.push(...tarEntryBlocks(e));
  parts.push(tarEnd());
  return Buffer.concat(parts);
}

/** A plain tar, gunzipped first when it starts with gzip's magic bytes. */
function plain(archive: Buffer): Buffer {
  return archive[0] === 0x1f && archive[1] === 0x8b ? gunzipSync(archive) : archive;
}

interface TarError extends Error {
  readonly code?: string;
  readonly tarCode?: string;
  readonly entry?: { readonly path?: string };
  readonly path?: string;
}

/**
 * Feeds a plain tar to a node-tar parser one block at a time (it parses synchronously), so that
 * the first error is known with the offset of the block that caused it. Throws that error as
 * `tar: ...`, an extractor's refusals as "points outside the destination".
 */
function feed(parser: Parser, tar: Buffer): void {
  let failure: { err: TarError; offset: number } | undefined;
  let offset = 0;
  parser.on('error', (err: TarError) => (failure ??= { err, offset }));
  for (; offset < tar.length && failure === undefined; offset += BLOCK)
    parser.write(tar.subarray(offset, offset + BLOCK));
  if (failure === undefined) parser.end();
  if (failure === undefined) return;
  const { err, offset: at } = failure;
  const what = err.message.replace(/^TAR_[A-Z_]+: /, '');
  // node-tar strips a leading '/' from entry.path before refusing it: the original is err.path.
  const path = err.code === 'TAR_SYMLINK_ERROR' ? err.entry?.path : (err.path ?? err.entry?.path);
  if (/checksum/.test(what)) throw new Error(`tar: bad header checksum at offset ${at}`);
  if (/Truncated input/.test(what)) throw new Error(`tar: truncated entry '${path ?? ''}'`);
  if (err.code === 'TAR_SYMLINK_ERROR' || /'\.\.'|escape|absolute/.test(what))
    throw new Error(`tar: entry '${path ?? ''}' points outside the destination (${what})`);
  throw new Error(`tar: ${what}${path === undefined ? '' : ` (entry '${path}')`}`);
}

/** Reads a (gzipped or plain) ustar/PAX/GNU archive's files, folders and symlinks (other types are skipped). */
export function readTar(archive: Buffer): TarEntry[] {
  const entries: TarEntry[] = [];
  const onReadEntry = (e: ReadEntry) => {
    const base = {
      path: e.path.replace(/^\.\//, '').replace(/\/$/, ''),
      mode: e.mode ?? 0,
      mtime: Math.floor((e.mtime?.getTime() ?? 0) / 1000),
    };
    if (e.type === 'File' || e.type === 'OldFile' || e.type === 'ContiguousFile') {
      const chunks: Buffer[] = [];
      e.on('data', (c: Buffer) => chunks.push(c));
      e.on('end', () => entries.push({ ...base, type: 'file', data: Buffer.concat(chunks) }));
      return;
    }
    if (e.type === 'Directory') entries.push({ ...base, type: 'dir' });
    else if (e.type === 'SymbolicLink') entries.push({ ...base, type: 'symlink', linkname: e.linkpath ?? '' });
    e.resume();
  };
  feed(new Parser({ strict: true, zstd: false, onReadEntry }), plain(archive));
  return entries;
}

/**
 * Extracts a (gzipped or plain) archive under `dest`, keeping modes and symlinks, owned by the
 * agent. Refuses any entry that would land outside it (`..`, an absolute path, a link that
 * escapes, a path through a symlink); the caller removes what was extracted before the refusal.
 */
export function extractTar(archive: Buffer, dest: string): void {
  mkdirSync(dest, { recursive: true });
  feed(new UnpackSync({ cwd: dest, strict: true, zstd: false, preserveOwner: false }), plain(archive));
}
