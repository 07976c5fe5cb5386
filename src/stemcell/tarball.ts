import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { Parser, type ReadEntry } from 'tar';

/**
 * Streams a (gzip-compressed) stemcell tarball through node-tar's parser: its `image` may be
 * gigabytes, so nothing is held in memory beyond one chunk, and the parser waits while the
 * image's file catches up. Only the entries asked for are written, each to a path the caller
 * chose, so a hostile archive cannot write anywhere else.
 */

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

/** node-tar's errors carry `tarCode` (and the entry); zlib's a `Z_` code. */
interface ParseError extends Error {
  readonly code?: string;
  readonly tarCode?: string;
  readonly entry?: { readonly path?: string };
}

const stripDot = (path: string) => path.replace(/^(\.\/)+/, '');

/** node-tar's and zlib's errors as what is wrong with the archive; anything else (I/O) as it is. */
function describe(err: unknown, gzip: boolean, sawEntry: boolean): unknown {
  if (err instanceof TarFormatError) return err;
  const e = err as ParseError;
  const notTar = `it is not a ${gzip ? 'gzip-compressed ' : ''}tar archive`;
  if (typeof e.code === 'string' && e.code.startsWith('Z_'))
    return new TarFormatError(`it is not a valid gzip stream (${e.message.replace(/^zlib: /, '')})`);
  const what = (e.message ?? '').replace(/^TAR_[A-Z_]+: /, '');
  if (e.tarCode === 'TAR_BAD_ARCHIVE')
    return new TarFormatError(
      /^Truncated input/.test(what) ? `it is truncated (in '${stripDot(e.entry?.path ?? '')}')` : notTar,
    );
  if (e.tarCode === 'TAR_ENTRY_INVALID' && /checksum/.test(what))
    return new TarFormatError(sawEntry ? 'a tar header is corrupted (bad checksum)' : notTar);
  if (e.tarCode !== undefined) return new TarFormatError(`a tar entry is invalid (${what})`);
  return err;
}

/**
 * Reads the archive at `file` once, from start to end, handing each regular file to `targetOf`;
 * those it gives a target are extracted. Fails with `TarFormatError` (what is wrong, without
 * the file name) on anything but a well-formed tar; I/O errors pass through.
 */
export async function extractTar(
  file: string,
  targetOf: (path: string) => EntryTarget | undefined,
): Promise<ExtractedEntry[]> {
  const out: ExtractedEntry[] = [];
  const writes: Promise<void>[] = [];
  const open = new Set<WriteStream>();
  let failure: unknown;
  let onFailure: (err: unknown) => void = () => {};
  const failed = new Promise<never>((_, reject) => (onFailure = reject));
  failed.catch(() => {});
  const stop = (err: unknown) => {
    failure ??= err;
    onFailure(failure);
  };
  let sawEntry = false;

  const onReadEntry = (entry: ReadEntry) => {
    sawEntry = true;
    const path = stripDot(entry.path);
    const regular = entry.type === 'File' || entry.type === 'OldFile' || entry.type === 'ContiguousFile';
    const target = regular && failure === undefined ? targetOf(path) : undefined;
    if (target === undefined) {
      entry.resume();
      return;
    }
    const sha1 = createHash('sha1');
    const sha256 = createHash('sha256');
    if (target.kind === 'memory') {
      if (entry.size > target.maxBytes) {
        stop(new TarFormatError(`'${path}' is ${entry.size} bytes, more than the ${target.maxBytes} expected`));
        entry.resume();
        return;
      }
      const chunks: Buffer[] = [];
      entry.on('data', (c: Buffer) => chunks.push(c));
      entry.on('end', () => {
        const data = Buffer.concat(chunks);
        out.push({
          path,
          size: data.length,
          data,
          sha1: sha1.update(data).digest('hex'),
          sha256: sha256.update(data).digest('hex'),
        });
      });
      return;
    }
    const ws = createWriteStream(target.path, { mode: 0o600 });
    open.add(ws);
    let size = 0;
    entry.on('data', (c: Buffer) => {
      size += c.length;
      sha1.update(c);
      sha256.update(c);
      if (!ws.write(c)) {
        entry.pause();
        ws.once('drain', () => entry.resume());
      }
    });
    entry.on('end', () => ws.end());
    writes.push(
      new Promise<void>((resolve) => {
        ws.on('error', stop);
        ws.on('close', () => {
          open.delete(ws);
          if (ws.writableFinished) out.push({ path, size, sha1: sha1.digest('hex'), sha256: sha256.digest('hex') });
          resolve();
        });
      }),
    );
  };

  const parser = new Parser({ strict: true, zstd: false, onReadEntry });
  parser.on('error', stop);
  const raw = createReadStream(file, { highWaterMark: 1 << 20 });
  let gzip = false;
  let bytes = 0;
  try {
    for await (const chunk of raw as AsyncIterable<Buffer>) {
      if (bytes === 0) gzip = chunk[0] === 0x1f && chunk[1] === 0x8b;
      bytes += chunk.length;
      if (!parser.write(chunk)) await Promise.race([new Promise((resolve) => parser.once('drain', resolve)), failed]);
      if (failure !== undefined) break;
    }
    if (failure === undefined && bytes > 0) {
      const ended = new Promise((resolve) => parser.once('end', resolve));
      parser.end();
      await Promise.race([ended, failed]);
    }
  } catch (err) {
    failure ??= err;
  } finally {
    raw.destroy();
    if (failure !== undefined) for (const ws of open) ws.destroy();
    await Promise.all(writes);
  }
  if (failure !== undefined) throw describe(failure, gzip, sawEntry);
  if (bytes === 0) throw new TarFormatError('it is empty');
  return out;
}
