import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DirectorError } from '../errors.js';
import type { ReleaseArtifact, ReleaseRecord } from '../state/records.js';
import type { ReleaseState } from '../state/state-store.js';
import { sha256, type Blobstore } from './blobstore.js';
import {
  folderEntries,
  loadReleaseDir,
  type ReleaseDir,
  type ReleaseDirJob,
  type ReleaseDirPackage,
} from './release-dir.js';
import { packTgz, type TarEntry } from './tar.js';

/** Fetches a URL's bytes; rejects on network errors and non-2xx answers. */
export type Fetcher = (url: string) => Promise<Buffer>;

export interface UploadReleaseOptions {
  /**
   * A local folder of upstream artifacts, by file name (e.g. kubernetes-server-linux-amd64.tar.gz),
   * consulted when a source URL cannot be fetched. The CLI passes $DIRECTOR_RELEASE_SOURCES.
   */
  readonly sourcesDir?: string;
  /** Default: the global fetch with a 60 s timeout. */
  readonly fetch?: Fetcher;
  /** Progress and fallback notices, one line each (never secrets: releases hold none). */
  readonly log?: (line: string) => void;
}

export interface UploadReleaseResult {
  readonly record: ReleaseRecord;
  /** False when this name+version was already uploaded with the same content. */
  readonly created: boolean;
  /** URLs fetched during this upload. */
  readonly fetched: readonly string[];
  /** Packages whose sources were unavailable, with the fallback used. */
  readonly fallbacks: readonly { readonly package: string; readonly reason: string }[];
}

const defaultFetch: Fetcher = async (url) => {
  const res = await fetch(url, { signal: AbortSignal.timeout(60_000), redirect: 'follow' });
  if (!res.ok) throw new DirectorError(`HTTP ${res.status} ${res.statusText}`);
  return Buffer.from(await res.arrayBuffer());
};

const sha1 = (data: Buffer) => createHash('sha1').update(data).digest('hex');

/** A job's blob: spec.yml and templates/<src>, in a deterministic .tgz. */
export function packJob(job: ReleaseDirJob): Buffer {
  const entries: TarEntry[] = [{ path: 'spec.yml', mode: 0o644, data: Buffer.from(job.specText) }];
  for (const [src, text] of Object.entries(job.templates))
    entries.push({ path: `templates/${src}`, mode: 0o644, data: Buffer.from(text) });
  return packTgz(entries);
}

/** What a package is made of, independent of where its bytes came from. */
export function packageFingerprint(pkg: ReleaseDirPackage): string {
  const s = pkg.spec;
  if (s.files !== undefined) return sha256(packTgz(folderEntries(join(pkg.dir, s.files))));
  return sha256(
    JSON.stringify({
      name: s.name,
      dependencies: s.dependencies,
      sources: s.sources.map((x) => x.sha256 ?? x.sha512 ?? x.url),
    }),
  );
}

/**
 * Uploads a release folder: packs each job and `files` package into a .tgz blob, fetches each
 * `sources` artifact once into the blobstore (verifying its sha256 and/or sha512; a blob already present is
 * never fetched again; an unreachable URL falls back to `sourcesDir`, then to the package's
 * `fallback` folder, with a notice), and records the release in the state. Uploading a version
 * that is recorded with the same content changes nothing and fetches nothing; with different
 * content it is refused. A hash mismatch is always refused; a source
 * with no hash is never downloaded (its package takes its fallback). Blobs written before a failure
 * stay (content-addressed, harmless); the state records nothing then.
 */
export async function uploadRelease(
  dir: string,
  store: { readonly releases: ReleaseState },
  blobstore: Blobstore,
  opts: UploadReleaseOptions = {},
): Promise<UploadReleaseResult> {
  let rel: ReleaseDir;
  try {
    rel = loadReleaseDir(dir);
  } catch (err) {
    throw new DirectorError(`Uploading release '${dir}'`, { cause: err });
  }
  const label = `${rel.name}/${rel.version}`;
  const log = opts.log ?? (() => {});
  try {
    const jobs = [...rel.jobs.values()].map((j) => ({ job: j, blob: packJob(j) }));
    const existing = store.releases.find(rel.name, rel.version);
    if (existing) {
      const changed = [
        ...jobs
          .filter(({ job, blob }) => existing.jobs.find((a) => a.name === job.name)?.fingerprint !== sha256(blob))
          .map(({ job }) => `job '${job.name}'`),
        ...[...rel.packages.values()]
          .filter((p) => existing.packages.find((a) => a.name === p.name)?.fingerprint !== packageFingerprint(p))
          .map((p) => `package '${p.name}'`),
        ...existing.jobs.filter((a) => !rel.jobs.has(a.name)).map((a) => `job '${a.name}'`),
        ...existing.packages.filter((a) => !rel.packages.has(a.name)).map((a) => `package '${a.name}'`),
      ];
      if (changed.length > 0)
        throw new DirectorError(
          `release ${label} is already uploaded with different content (${changed.join(', ')} changed); give the release a new version`,
        );
      const missing = [...existing.jobs, ...existing.packages].filter((a) => !blobstore.has(a.blobstorePath));
      if (missing.length === 0) {
        log(`Release ${label} is already uploaded; nothing changed`);
        return { record: existing, created: false, fetched: [], fallbacks: [] };
      }
      throw new DirectorError(
        `release ${label} is recorded but blobs of ${missing.map((a) => `'${a.name}'`).join(', ')} are missing from '${blobstore.dir}'`,
      );
    }

    const jobArtifacts: ReleaseArtifact[] = jobs.map(({ job, blob }) => {
      const id = blobstore.put(blob);
      return { name: job.name, fingerprint: id, sha1: sha1(blob), blobstorePath: id, dependencies: job.spec.packages };
    });
    const fetched: string[] = [];
    const fallbacks: { package: string; reason: string }[] = [];
    const packageArtifacts: ReleaseArtifact[] = [];
    for (const pkg of rel.packages.values()) {
      const blob = await packageBlob(pkg, blobstore, opts, log, fetched, fallbacks);
      const id = blobstore.put(blob);
      packageArtifacts.push({
        name: pkg.name,
        fingerprint: packageFingerprint(pkg),
        sha1: sha1(blob),
        blobstorePath: id,
        dependencies: pkg.spec.dependencies,
      });
    }
    const record = store.releases.add({
      name: rel.name,
      version: rel.version,
      jobs: jobArtifacts,
      packages: packageArtifacts,
    });
    log(`Uploaded release ${label}: ${jobArtifacts.length} jobs, ${packageArtifacts.length} packages`);
    return { record, created: true, fetched, fallbacks };
  } catch (err) {
    throw new DirectorError(`Uploading release ${label}`, { cause: err });
  }
}

async function packageBlob(
  pkg: ReleaseDirPackage,
  blobstore: Blobstore,
  opts: UploadReleaseOptions,
  log: (line: string) => void,
  fetched: string[],
  fallbacks: { package: string; reason: string }[],
): Promise<Buffer> {
  const s = pkg.spec;
  if (s.files !== undefined) return packTgz(folderEntries(join(pkg.dir, s.files)));
  const artifacts: { file: string; data: Buffer }[] = [];
  const useFallback = (why: string): Buffer => {
    if (s.fallback === undefined)
      throw new DirectorError(`Getting source of package '${pkg.name}': ${why}, and the package has no fallback`);
    log(`Package '${pkg.name}': source unavailable (${why}); using its fallback 'packages/${pkg.name}/${s.fallback}'`);
    fallbacks.push({ package: pkg.name, reason: why });
    return packTgz(folderEntries(join(pkg.dir, s.fallback)));
  };
  for (const src of s.sources) {
    const known =
      src.sha256 !== undefined
        ? blobstore.has(src.sha256)
          ? src.sha256
          : undefined
        : src.sha512 !== undefined
          ? blobstore.alias(`sha512-${src.sha512}`)
          : undefined;
    if (known !== undefined) {
      artifacts.push({ file: src.file, data: blobstore.get(known) });
      continue;
    }
    if (src.sha256 === undefined && src.sha512 === undefined)
      return useFallback(`'${src.url}' has no pinned sha256 or sha512, so it is never downloaded`);
    let data: Buffer | undefined;
    let reason = '';
    try {
      data = await (opts.fetch ?? defaultFetch)(src.url);
      fetched.push(src.url);
    } catch (err) {
      reason = `fetching '${src.url}': ${err instanceof Error ? err.message : String(err)}`;
    }
    let from = `'${src.url}'`;
    if (data === undefined && opts.sourcesDir !== undefined && existsSync(join(opts.sourcesDir, src.file))) {
      data = readFileSync(join(opts.sourcesDir, src.file));
      from = `'${join(opts.sourcesDir, src.file)}'`;
    }
    if (data === undefined)
      return useFallback(
        `${reason}${opts.sourcesDir !== undefined ? `; '${src.file}' is not in '${opts.sourcesDir}'` : ''}`,
      );
    for (const [algo, expected] of [
      ['sha256', src.sha256],
      ['sha512', src.sha512],
    ] as const) {
      if (expected === undefined) continue;
      const actual = createHash(algo).update(data).digest('hex');
      if (actual !== expected)
        throw new DirectorError(
          `Getting source of package '${pkg.name}' from ${from}: ${algo} mismatch: expected ${expected}, got ${actual}`,
        );
    }
    const id = blobstore.put(data);
    if (src.sha512 !== undefined) blobstore.setAlias(`sha512-${src.sha512}`, id);
    artifacts.push({ file: src.file, data });
  }
  if (artifacts.length === 1) return artifacts[0]!.data;
  return packTgz(artifacts.map((a) => ({ path: a.file, mode: 0o644, data: a.data })));
}
