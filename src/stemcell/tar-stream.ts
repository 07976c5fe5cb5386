import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';

/**
 * A streaming reader of (gzip-compressed) tar archives, for stemcells: their `image` may be
 * gigabytes, so nothing is held in memory beyond one chunk. Only the entries asked for are
 * written, each to a path the caller chose, so a hostile archive cannot write anywhere else.
 */

const BLOCK = 512;

/** Why an archive could not be read; the caller names the file. */
export class TarFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TarFormatError';
  }
}

/** What to do with one regular file of the archive (path without a leading `./`). */
export type EntryTarget =
  /** Keep its content in memory (refused above `maxBytes`). */
  | { readonly kind: 'memory'; readonly maxBytes: number }
  /** Write it to `path`, computing its sha1 and sha256 on the way. */
  | { readonly kind: 'file'; readonly path: string };

export interface ExtractedEntry {
  readonly path: string;
  readonly size: number;
  /** Set for `memory` targets. */
  readonly data?: Buffer;
  readonly sha1: string;
  readonly sha256: string;
}

/** Pulls exact byte counts out of a chunk stream. */
class ByteQueue {
  private readonly queue: Buffer[] = [];
  constructor(private readonly source: AsyncIterator<Buffer>) {}

  private async more(): Promise<boolean> {
    const r = await this.source.next();
    if (r.done) return false;
    if (r.value.length) this.queue.push(r.value);
    return true;
  }

  /** Yields exactly `n` bytes in pieces; throws when the stream ends first. */
  async *take(n: number, what: string): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.queue.length === 0 && !(await this.more())) throw new TarFormatError(`it is truncated (in ${what})`);
      const c = this.queue.shift();
      if (!c) continue;
      if (c.length <= left) {
        left -= c.length;
        yield c;
      } else {
        yield c.subarray(0, left);
        this.queue.unshift(c.subarray(left));
        left = 0;
      }
    }
  }

  /** `n` bytes, or undefined when the stream ends before any byte of them. */
  async read(n: number, what: string): Promise<Buffer | undefined> {
    if (this.queue.length === 0 && !(await this.more())) return undefined;
    const parts: Buffer[] = [];
    for await (const c of this.take(n, what)) parts.push(c);
    return Buffer.concat(parts);
  }

  async skip(n: number, what: string): Promise<void> {
    for await (const _ of this.take(n, what)) void _;
  }
}

function field(h: Buffer, start: number, len: number): string {
  const raw = h.subarray(start, start + len);
  const nul = raw.indexOf(0);
  return raw.subarray(0, nul === -1 ? len : nul).toString('utf8');
}

/** A numeric header field: octal text, or GNU base-256 (first byte 0x80) for large sizes. */
function numeric(h: Buffer, start: number, len: number): number {
  if ((h[start]! & 0x80) !== 0) {
    let n = h[start]! & 0x7f;
    for (let i = start + 1; i < start + len; i++) n = n * 256 + h[i]!;
    return n;
  }
  const text = field(h, start, len).trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new TarFormatError(`a tar header has an invalid number '${text}'`);
  return parseInt(text, 8);
}

function checksumOk(h: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
  const text = field(h, 148, 8).trim();
  return /^[0-7]+$/.test(text) && parseInt(text, 8) === sum;
}

/** pax extended header records (`len key=value\n`): the ones that change the next entry. */
function paxRecords(data: Buffer): { path?: string; size?: number } {
  const out: { path?: string; size?: number } = {};
  let off = 0;
  while (off < data.length) {
    const space = data.indexOf(0x20, off);
    if (space === -1) break;
    const len = Number(data.subarray(off, space).toString('ascii'));
    if (!Number.isInteger(len) || len <= 0) break;
    const rec = data.subarray(space + 1, off + len - 1).toString('utf8');
    const eq = rec.indexOf('=');
    if (eq !== -1) {
      const key = rec.slice(0, eq);
      const value = rec.slice(eq + 1);
      if (key === 'path') out.path = value;
      if (key === 'size' && /^\d+$/.test(value)) out.size = Number(value);
    }
    off += len;
  }
  return out;
}

/** Gzip-compressed or plain, told by the gzip magic bytes. */
async function isGzip(file: string): Promise<boolean> {
  const fh = await open(file, 'r');
  try {
    const b = Buffer.alloc(2);
    const { bytesRead } = await fh.read(b, 0, 2, 0);
    return bytesRead === 2 && b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

/**
 * Reads the archive at `file` once, from start to end, handing each regular file to `targetOf`;
 * those it gives a target are extracted. Fails with `TarFormatError` (what is wrong, without
 * the file name) on anything but a well-formed tar; I/O errors pass through.
 */
export async function extractTar(file: string, targetOf: (path: string) => EntryTarget | undefined): Promise<ExtractedEntry[]> {
  const raw = createReadStream(file, { highWaterMark: 1 << 20 });
  const gz = await isGzip(file);
  const stream = gz ? raw.pipe(createGunzip()) : raw;
  if (gz) raw.on('error', (e) => stream.destroy(e));
  const q = new ByteQueue(stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>);
  const out: ExtractedEntry[] = [];
  let first = true;
  let pending: { path?: string; size?: number } = {};
  try {
    for (;;) {
      const h = await q.read(BLOCK, 'a tar header');
      if (h === undefined) {
        if (first) throw new TarFormatError('it is empty');
        break; // no end-of-archive blocks: tolerated, as GNU tar does
      }
      if (h.every((b) => b === 0)) break;
      if (!checksumOk(h)) throw new TarFormatError(first ? `it is not a ${gz ? 'gzip-compressed ' : ''}tar archive` : 'a tar header is corrupted (bad checksum)');
      first = false;
      const type = String.fromCharCode(h[156] ?? 0x30);
      const prefix = field(h, 345, 155);
      const name = field(h, 0, 100);
      let path = pending.path ?? (prefix && field(h, 257, 6).startsWith('ustar') ? `${prefix}/${name}` : name);
      const size = pending.size ?? numeric(h, 124, 12);
      pending = {};
      const padded = Math.ceil(size / BLOCK) * BLOCK;
      if (type === 'L' || type === 'x') {
        const data = await q.read(padded, `the header of an entry after '${path}'`);
        const body = (data ?? Buffer.alloc(0)).subarray(0, size);
        pending = type === 'L' ? { path: body.toString('utf8').replace(/\0+$/, '') } : paxRecords(body);
        continue;
      }
      path = path.replace(/^(\.\/)+/, '');
      const target = type === '0' || type === '\0' || type === '7' ? targetOf(path) : undefined;
      if (target === undefined) {
        await q.skip(padded, `'${path}'`);
        continue;
      }
      const sha1 = createHash('sha1');
      const sha256 = createHash('sha256');
      if (target.kind === 'memory') {
        if (size > target.maxBytes) throw new TarFormatError(`'${path}' is ${size} bytes, more than the ${target.maxBytes} expected`);
        const parts: Buffer[] = [];
        for await (const c of q.take(size, `'${path}'`)) parts.push(c);
        const data = Buffer.concat(parts);
        out.push({ path, size, data, sha1: sha1.update(data).digest('hex'), sha256: sha256.update(data).digest('hex') });
      } else {
        const fh: FileHandle = await open(target.path, 'w', 0o600);
        try {
          for await (const c of q.take(size, `'${path}'`)) {
            sha1.update(c);
            sha256.update(c);
            await fh.write(c);
          }
        } finally {
          await fh.close();
        }
        out.push({ path, size, sha1: sha1.digest('hex'), sha256: sha256.digest('hex') });
      }
      await q.skip(padded - size, `'${path}'`);
    }
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('Z_')) throw new TarFormatError(`it is not a valid gzip stream (${(err as Error).message})`);
    throw err;
  } finally {
    raw.destroy();
    stream.destroy();
  }
  return out;
}
