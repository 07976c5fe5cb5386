// A small ustar writer and reader (POSIX.1-1988 headers, PAX `path`/`linkpath` records for long
// names), because the agent may use Node's own modules only.
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, posix, resolve, sep } from 'node:path';

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
const TYPEFLAG: Record<TarEntryType, string> = { file: '0', dir: '5', symlink: '2' };

function octal(value: number, width: number): string {
  // width includes the terminating NUL
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

function header(name: string, prefix: string, type: string, mode: number, size: number, mtime: number, linkname: string): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 100, 'utf8');
  h.write(octal(mode & 0o7777, 8), 100, 'ascii');
  h.write(octal(0, 8), 108, 'ascii');
  h.write(octal(0, 8), 116, 'ascii');
  h.write(octal(size, 12), 124, 'ascii');
  h.write(octal(Math.max(0, Math.floor(mtime)), 12), 136, 'ascii');
  h.write('        ', 148, 'ascii');
  h.write(type, 156, 'ascii');
  h.write(linkname, 157, 100, 'utf8');
  h.write('ustar\u000000', 257, 'ascii');
  h.write('root', 265, 'ascii');
  h.write('root', 297, 'ascii');
  h.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
  return h;
}

function padding(size: number): Buffer {
  const rest = size % BLOCK;
  return Buffer.alloc(rest === 0 ? 0 : BLOCK - rest);
}

/** Splits a path into ustar's prefix (≤155 bytes) and name (≤100 bytes), or undefined if it cannot. */
function splitUstar(path: string): [string, string] | undefined {
  if (Buffer.byteLength(path) <= 100) return ['', path];
  for (let i = path.indexOf('/'); i !== -1; i = path.indexOf('/', i + 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100 && name !== '') return [prefix, name];
  }
  return undefined;
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
  return `${len}${body}`;
}

/** The blocks of one entry (a PAX header first when a name does not fit ustar). */
export function tarEntryBlocks(entry: TarEntry): Buffer[] {
  const path = entry.type === 'dir' && !entry.path.endsWith('/') ? `${entry.path}/` : entry.path;
  const data = entry.type === 'file' ? (entry.data ?? Buffer.alloc(0)) : Buffer.alloc(0);
  const linkname = entry.linkname ?? '';
  const out: Buffer[] = [];
  let split = splitUstar(path);
  let link = linkname;
  if (split === undefined || Buffer.byteLength(linkname) > 100) {
    let records = '';
    if (split === undefined) records += paxRecord('path', path);
    if (Buffer.byteLength(linkname) > 100) {
      records += paxRecord('linkpath', linkname);
      link = linkname.slice(0, 100);
    }
    const body = Buffer.from(records, 'utf8');
    out.push(header(`PaxHeader/${posix.basename(path).slice(0, 80)}`, '', 'x', 0o644, body.length, entry.mtime, ''), body, padding(body.length));
    split = split ?? ['', path.slice(-100)];
  }
  out.push(header(split[1], split[0], TYPEFLAG[entry.type], entry.mode, data.length, entry.mtime, link));
  if (data.length > 0) out.push(data, padding(data.length));
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

function readString(buf: Buffer, offset: number, length: number): string {
  const raw = buf.subarray(offset, offset + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end === -1 ? raw.length : end).toString('utf8');
}

function readNumber(buf: Buffer, offset: number, length: number): number {
  const field = buf.subarray(offset, offset + length);
  if ((field[0] ?? 0) & 0x80) {
    let n = 0;
    for (let i = 1; i < field.length; i++) n = n * 256 + (field[i] ?? 0);
    return n;
  }
  const text = readString(buf, offset, length).trim();
  return text === '' ? 0 : parseInt(text, 8);
}

function parsePax(body: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let pos = 0;
  while (pos < body.length) {
    const space = body.indexOf(0x20, pos);
    if (space === -1) break;
    const len = parseInt(body.subarray(pos, space).toString('ascii'), 10);
    if (!Number.isFinite(len) || len <= 0) break;
    const record = body.subarray(space + 1, pos + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq !== -1) out[record.slice(0, eq)] = record.slice(eq + 1);
    pos += len;
  }
  return out;
}

/** Reads a ustar/PAX/GNU archive's files, folders and symlinks (other types are skipped). */
export function readTar(archive: Buffer): TarEntry[] {
  const entries: TarEntry[] = [];
  let pos = 0;
  let pax: Record<string, string> = {};
  let longName: string | undefined;
  let longLink: string | undefined;
  while (pos + BLOCK <= archive.length) {
    const h = archive.subarray(pos, pos + BLOCK);
    if (h.every((b) => b === 0)) break;
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (h[i] ?? 0);
    if (sum !== readNumber(h, 148, 8)) throw new Error(`tar: bad header checksum at offset ${pos}`);
    const size = readNumber(h, 124, 12);
    const type = String.fromCharCode(h[156] ?? 0);
    const body = archive.subarray(pos + BLOCK, pos + BLOCK + size);
    if (body.length < size) throw new Error(`tar: truncated entry at offset ${pos}`);
    pos += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'x') {
      pax = parsePax(body);
      continue;
    }
    if (type === 'g') continue;
    if (type === 'L') {
      longName = readString(body, 0, body.length);
      continue;
    }
    if (type === 'K') {
      longLink = readString(body, 0, body.length);
      continue;
    }
    const prefix = readString(h, 345, 155);
    const name = readString(h, 0, 100);
    const path = pax.path ?? longName ?? (prefix === '' ? name : `${prefix}/${name}`);
    const linkname = pax.linkpath ?? longLink ?? readString(h, 157, 100);
    pax = {};
    longName = undefined;
    longLink = undefined;
    const base = { path: path.replace(/^\.\//, '').replace(/\/$/, ''), mode: readNumber(h, 100, 8), mtime: readNumber(h, 136, 12) };
    if (type === '0' || type === '\0' || type === '7') entries.push({ ...base, type: 'file', data: Buffer.from(body) });
    else if (type === '5') entries.push({ ...base, type: 'dir' });
    else if (type === '2') entries.push({ ...base, type: 'symlink', linkname });
  }
  return entries;
}

/** Extracts entries under `dest`; refuses any path that would land outside it. */
export function extractTar(entries: readonly TarEntry[], dest: string): void {
  const root = resolve(dest);
  mkdirSync(root, { recursive: true });
  for (const e of entries) {
    if (e.path === '' || e.path === '.') continue;
    const target = resolve(root, e.path);
    if (target !== root && !target.startsWith(root + sep)) throw new Error(`tar: entry '${e.path}' points outside the destination`);
    if (e.type === 'dir') {
      mkdirSync(target, { recursive: true, mode: e.mode || 0o755 });
    } else if (e.type === 'symlink') {
      mkdirSync(dirname(target), { recursive: true });
      symlinkSync(e.linkname ?? '', target);
    } else {
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, e.data ?? Buffer.alloc(0), { mode: e.mode || 0o644 });
    }
  }
}
