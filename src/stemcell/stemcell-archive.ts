import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DirectorError, formatErrorChain } from '../errors.js';
import { parseStemcellManifest, StemcellManifestError, type StemcellManifest } from './stemcell-manifest.js';
import { extractTar, TarFormatError } from './tarball.js';

/** A stemcell read from a tarball or folder: its manifest and where its image now is. */
export interface StemcellArchive {
  readonly manifest: StemcellManifest;
  /** The `image` file (for Azure heavy stemcells a tgz holding root.vhd; empty for light ones). */
  readonly imagePath: string;
  readonly imageSize: number;
}

const MANIFEST = 'stemcell.MF';
const IMAGE = 'image';
const MAX_MANIFEST_BYTES = 1 << 20;

async function fileSha(path: string, algorithm: 'sha1' | 'sha256'): Promise<string> {
  const h = createHash(algorithm);
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return h.digest('hex');
}

/**
 * Reads a BOSH stemcell: a tarball (`.tgz`, or a plain tar) holding `stemcell.MF` and `image`,
 * or a folder with the same two files. A tarball's image is extracted into `scratch` (which the
 * caller removes); a folder's is used where it is. Checks the manifest and, when the manifest
 * has a `sha1` and the image is not empty (a light stemcell's is), the image's digest. Every
 * problem is one `DirectorError`: "Stemcell '<path>': <what is wrong>".
 */
export async function readStemcell(path: string, scratch: string): Promise<StemcellArchive> {
  const fail = (what: string) => new DirectorError(`Stemcell '${path}': ${what}`);
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    throw fail((err as { code?: string }).code === 'ENOENT' ? 'no such file or folder' : formatErrorChain(err));
  }
  let manifestText: string;
  let imagePath: string;
  let imageSize: number;
  let digests: { sha1: string; sha256: string } | undefined;
  if (info.isDirectory()) {
    try {
      manifestText = await readFile(join(path, MANIFEST), 'utf8');
    } catch {
      throw fail(`the folder holds no '${MANIFEST}'`);
    }
    imagePath = join(path, IMAGE);
    const img = await stat(imagePath).catch(() => undefined);
    if (!img?.isFile()) throw fail(`the folder holds no '${IMAGE}'`);
    imageSize = img.size;
  } else {
    imagePath = join(scratch, IMAGE);
    let entries;
    try {
      entries = await extractTar(path, (p) =>
        p === MANIFEST
          ? { kind: 'memory', maxBytes: MAX_MANIFEST_BYTES }
          : p === IMAGE
            ? { kind: 'file', path: imagePath }
            : undefined,
      );
    } catch (err) {
      if (err instanceof TarFormatError) throw fail(err.message);
      throw fail(formatErrorChain(err));
    }
    const mf = entries.find((e) => e.path === MANIFEST);
    const image = entries.find((e) => e.path === IMAGE);
    if (!mf?.data) throw fail(`the archive holds no '${MANIFEST}'`);
    if (!image) throw fail(`the archive holds no '${IMAGE}'`);
    manifestText = mf.data.toString('utf8');
    imageSize = image.size;
    digests = { sha1: image.sha1, sha256: image.sha256 };
  }
  let manifest: StemcellManifest;
  try {
    manifest = parseStemcellManifest(manifestText, MANIFEST);
  } catch (err) {
    throw fail(err instanceof StemcellManifestError ? `${MANIFEST}: ${err.message}` : formatErrorChain(err));
  }
  if (manifest.sha1 !== undefined && imageSize > 0) {
    const [algorithm, expected] = manifest.sha1.startsWith('sha256:')
      ? (['sha256', manifest.sha1.slice(7)] as const)
      : (['sha1', manifest.sha1.replace(/^sha1:/, '')] as const);
    const actual = digests ? digests[algorithm] : await fileSha(imagePath, algorithm);
    if (actual !== expected)
      throw fail(`the image's ${algorithm} is ${actual}, but ${MANIFEST} says ${expected} (a corrupted download?)`);
  }
  return { manifest, imagePath, imageSize };
}
