import { gunzipSync, gzipSync } from 'node:zlib';
import { DirectorError } from '../errors.js';

/**
 * A minimal ustar writer and reader for release blobs (jobs and packages). Built-ins only. The
 * writer is deterministic — sorted entries, mtime 0, uid/gid 0 — so the same content always
 * makes the same bytes and therefore the same content address.
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

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

function splitName(path: string): { name: string; prefix: string } {
  if (Buffer.byteLength(path) <= 100) return { name: path, prefix: '' };
  // ustar: name (100) + prefix (155), split at a '/'.
  for (let i = path.length - 1; i > 0; i--) {
    if (path[i] !== '/') continue;
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100 && name !== '') return { name, prefix };
  }
  throw new DirectorError(`Packing '${path}': path too long for a tar archive`);
}

function header(e: TarEntry): Buffer {
  const h = Buffer.alloc(BLOCK);
  const isDir = e.path.endsWith('/');
  const { name, prefix } = splitName(e.path);
  h.write(name, 0, 100, 'utf8');
  h.write(octal(e.mode & 0o7777, 8), 100, 'ascii');
  h.write(octal(0, 8), 108, 'ascii');
  h.write(octal(0, 8), 116, 'ascii');
  h.write(octal(isDir ? 0 : (e.data?.length ?? 0), 12), 124, 'ascii');
  h.write(octal(0, 12), 136, 'ascii');
  h.write('        ', 148, 'ascii');
  h.write(isDir ? '5' : '0', 156, 'ascii');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  h.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(octal(sum, 7) + ' ', 148, 'ascii');
  return h;
}

/** Packs entries (sorted by path) into a gzip-compressed tar. */
export function packTgz(entries: readonly TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    parts.push(header(e));
    if (!e.path.endsWith('/') && e.data && e.data.length > 0) {
      parts.push(e.data);
      const pad = (BLOCK - (e.data.length % BLOCK)) % BLOCK;
      if (pad) parts.push(Buffer.alloc(pad));
    }
  }
  parts.push(Buffer.alloc(BLOCK * 2));
  return gzipSync(Buffer.concat(parts), { level: 9 });
}

function field(h: Buffer, start: number, len: number): string {
  const raw = h.subarray(start, start + len);
  const nul = raw.indexOf(0);
  return raw.subarray(0, nul === -1 ? len : nul).toString('utf8');
}

/** Reads a (possibly gzip-compressed) tar: regular files and directories; other types are skipped. */
export function unpackTar(archive: Buffer): TarEntry[] {
  const tar = archive[0] === 0x1f && archive[1] === 0x8b ? gunzipSync(archive) : archive;
  const out: TarEntry[] = [];
  let off = 0;
  let longName: string | undefined;
  while (off + BLOCK <= tar.length) {
    const h = tar.subarray(off, off + BLOCK);
    if (h.every((b) => b === 0)) break;
    const size = parseInt(field(h, 124, 12).trim() || '0', 8);
    const type = String.fromCharCode(h[156] ?? 0x30);
    const prefix = field(h, 345, 155);
    let path = longName ?? (prefix ? `${prefix}/${field(h, 0, 100)}` : field(h, 0, 100));
    longName = undefined;
    const mode = parseInt(field(h, 100, 8).trim() || '0', 8);
    const data = tar.subarray(off + BLOCK, off + BLOCK + size);
    if (off + BLOCK + size > tar.length) throw new DirectorError(`Reading tar archive: entry '${path}' is truncated`);
    off += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'L') {
      longName = data.toString('utf8').replace(/\0+$/, '');
      continue;
    }
    path = path.replace(/^\.\//, '');
    if (type === '5') out.push({ path: path.endsWith('/') ? path : `${path}/`, mode });
    else if (type === '0' || type === '\0') out.push({ path, mode, data: Buffer.from(data) });
  }
  return out;
}
