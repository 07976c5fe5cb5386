import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { openStateStore } from '../../../src/state/index.js';
import { openBlobstore } from '../../../src/release/blobstore.js';
import { loadReleaseDir } from '../../../src/release/release-dir.js';
import { uploadRelease } from '../../../src/release/upload-release.js';
import { findReleaseView } from '../../../src/release/release-view.js';
import { packTgz, unpackTar } from '../../../src/release/tar.js';
import { formatErrorChain } from '../../../src/errors.js';
import { repoRoot } from './repo-root.js';

const artifact = packTgz([{ path: 'bin/tool', mode: 0o755, data: Buffer.from('#!/bin/sh\necho tool\n') }]);
const sha = (b: Buffer, algo = 'sha256') => createHash(algo).update(b).digest('hex');

function tmp(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'release-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function writeRelease(dir: string, source: { url: string; sha256?: string }, fallback = true): void {
  const w = (rel: string, text: string) => {
    mkdirSync(join(dir, rel, '..'), { recursive: true });
    writeFileSync(join(dir, rel), text);
  };
  w('release.yml', 'name: tiny\nversion: "1"\n');
  w(
    'jobs/app/spec.yml',
    'name: app\ntemplates:\n  run.ejs: bin/run\npackages: [tool]\nproperties:\n  port: {default: 80}\n',
  );
  w('jobs/app/templates/run.ejs', 'port=<%= p("port") %>\n');
  w('packages/lib/spec.yml', 'name: lib\nfiles: src\n');
  w('packages/lib/src/lib.txt', 'lib\n');
  w(
    'packages/tool/spec.yml',
    `name: tool\ndependencies: [lib]\nsources:\n- url: ${source.url}\n${source.sha256 ? `  sha256: ${source.sha256}\n` : ''}${fallback ? 'fallback: fb\n' : ''}`,
  );
  w('packages/tool/fb/README', 'fallback\n');
}

async function serve(t: { after: (fn: () => Promise<void>) => void }, body: Buffer) {
  let requests = 0;
  const server = createServer((_req, res) => {
    requests++;
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/tool-1.0.tgz`, requests: () => requests };
}

test('tar: deterministic pack, and unpack gives back paths, modes and bytes', () => {
  const entries = [
    { path: 'b.txt', mode: 0o644, data: Buffer.from('b') },
    { path: `${'d/'.repeat(60)}deep.txt`, mode: 0o755, data: Buffer.alloc(1000, 7) },
    { path: 'a/', mode: 0o755 },
  ];
  const one = packTgz(entries);
  assert.deepEqual(packTgz([...entries].reverse()), one);
  assert.deepEqual(
    unpackTar(one).map((e) => [e.path, e.mode, e.data?.length]),
    [
      ['a/', 0o755, undefined],
      ['b.txt', 0o644, 1],
      [`${'d/'.repeat(60)}deep.txt`, 0o755, 1000],
    ],
  );
});

test('tar: GNU tar lists and extracts what packTgz writes (long paths as PAX records), and unpackTar reads what GNU tar writes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'release-tar-'));
  try {
    const longName = `${'n'.repeat(180)}.txt`;
    const file = join(dir, 'blob.tgz');
    writeFileSync(
      file,
      packTgz([
        { path: 'bin/', mode: 0o755 },
        { path: 'bin/run', mode: 0o755, data: Buffer.from('#!/bin/sh\n') },
        { path: longName, mode: 0o600, data: Buffer.from('long\n') },
      ]),
    );
    assert.deepEqual(execFileSync('tar', ['-tzf', file], { encoding: 'utf8' }).trim().split('\n'), [
      'bin/',
      'bin/run',
      longName,
    ]);
    const out = join(dir, 'out');
    mkdirSync(out);
    execFileSync('tar', ['-xzf', file, '-C', out]);
    assert.equal(statSync(join(out, 'bin/run')).mode & 0o777, 0o755);
    assert.equal(readFileSync(join(out, longName), 'utf8'), 'long\n');
    writeFileSync(join(out, 'bin/run'), 'changed\n');
    execFileSync('tar', ['--format=gnu', '-czf', join(dir, 'gnu.tgz'), '-C', out, '.']);
    const back = new Map(unpackTar(readFileSync(join(dir, 'gnu.tgz'))).map((e) => [e.path, e]));
    assert.equal(back.get('bin/run')?.data?.toString(), 'changed\n');
    assert.equal(back.get('bin/run')?.mode, 0o755);
    assert.equal(back.get(longName)?.data?.toString(), 'long\n');
    assert.ok(back.has('bin/'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('blobstore: 0700 folder, 0600 blobs named by sha256, corruption detected', (t) => {
  const dir = join(tmp(t), 'blobs');
  const bs = openBlobstore(dir);
  const id = bs.put(Buffer.from('hello'));
  assert.equal(id, sha('hello' as unknown as Buffer));
  assert.equal(bs.put(Buffer.from('hello')), id);
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  assert.equal(statSync(bs.path(id)).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(dir), [id]);
  writeFileSync(bs.path(id), 'jello');
  assert.throws(() => bs.get(id), /content does not match its sha256 \(corrupted\)/);
});

test('the release folder loads; every problem is reported with its file and path', (t) => {
  const rel = loadReleaseDir(join(repoRoot(), 'release'));
  assert.equal(rel.name, 'kubo');
  assert.deepEqual(
    [...rel.jobs.keys()],
    [
      'apply-specs',
      'cloud-provider',
      'etcd',
      'kube-apiserver',
      'kube-controller-manager',
      'kube-proxy',
      'kube-scheduler',
      'kubelet',
      'smoke-tests',
    ],
  );
  assert.deepEqual([...rel.packages.keys()], ['containerd', 'etcd', 'kube-standin', 'kubernetes']);

  const dir = tmp(t);
  writeRelease(dir, { url: 'http://127.0.0.1:9/x.tgz', sha256: 'f'.repeat(64) });
  writeFileSync(join(dir, 'release.yml'), 'name: tiny\n');
  writeFileSync(join(dir, 'jobs/app/spec.yml'), 'name: app\ntemplates:\n  missing.ejs: bin/x\npackages: [nope]\n');
  writeFileSync(join(dir, 'packages/lib/spec.yml'), 'name: lib\nfiles: src\ndependencies: [tool]\n');
  writeFileSync(
    join(dir, 'packages/tool/spec.yml'),
    'name: tool\ndependencies: [lib]\nsources:\n- url: http://x/y.tgz\n  sha256: ABC\n',
  );
  assert.throws(
    () => loadReleaseDir(dir),
    (e: Error) => {
      assert.equal(
        formatErrorChain(e),
        `Loading release '${dir}': release.yml: version: has an unexpected form; packages/tool/spec.yml: sources[0].sha256: must be 64 lowercase hex digits; packages/lib/spec.yml: dependencies[0]: package 'tool' is not in the release; jobs/app/spec.yml: templates.missing.ejs: template file 'jobs/app/templates/missing.ejs' is missing; jobs/app/spec.yml: packages[0]: package 'nope' is not in the release`,
      );
      return true;
    },
  );
});

test('upload fetches each source once, a second upload changes and fetches nothing, the view serves the planner', async (t) => {
  const dir = tmp(t);
  const src = await serve(t, artifact);
  writeRelease(join(dir, 'rel'), { url: src.url, sha256: sha(artifact) });
  const store = openStateStore(join(dir, 'state.db'));
  t.after(() => store.close());
  const blobs = openBlobstore(join(dir, 'blobs'));

  const first = await uploadRelease(join(dir, 'rel'), store, blobs);
  assert.equal(first.created, true);
  assert.deepEqual(first.fetched, [src.url]);
  assert.equal(src.requests(), 1);
  const tool = first.record.packages.find((p) => p.name === 'tool')!;
  assert.equal(tool.blobstorePath, sha(artifact));
  assert.equal(tool.sha1, sha(artifact, 'sha1'));

  const second = await uploadRelease(join(dir, 'rel'), store, blobs);
  assert.equal(second.created, false);
  assert.deepEqual(second.fetched, []);
  assert.equal(src.requests(), 1);
  assert.deepEqual(second.record, first.record);

  // A new version with the same source: the blob is present, so nothing is fetched either.
  writeFileSync(join(dir, 'rel/release.yml'), 'name: tiny\nversion: "2"\n');
  const v2 = await uploadRelease(join(dir, 'rel'), store, blobs);
  assert.equal(v2.created, true);
  assert.equal(src.requests(), 1);

  const view = findReleaseView(store, blobs, 'tiny', '1');
  assert.deepEqual(view.jobSpec('app').templates, { 'run.ejs': 'bin/run' });
  assert.deepEqual(view.jobTemplates('app'), { 'run.ejs': 'port=<%= p("port") %>\n' });
  const lib = first.record.packages.find((p) => p.name === 'lib')!;
  assert.deepEqual(view.packageDigests('app'), { lib: lib.blobstorePath, tool: sha(artifact) });

  // Same version, different content: refused.
  writeFileSync(join(dir, 'rel/release.yml'), 'name: tiny\nversion: "1"\n');
  writeFileSync(join(dir, 'rel/jobs/app/templates/run.ejs'), 'changed\n');
  await assert.rejects(uploadRelease(join(dir, 'rel'), store, blobs), (e: Error) => {
    assert.equal(
      formatErrorChain(e),
      "Uploading release tiny/1: release tiny/1 is already uploaded with different content (job 'app' changed); give the release a new version",
    );
    return true;
  });
});

test('a sha256 mismatch is refused; an unreachable source uses the sources folder, then the fallback', async (t) => {
  const dir = tmp(t);
  const src = await serve(t, Buffer.from('not the artifact'));
  writeRelease(join(dir, 'rel'), { url: src.url, sha256: sha(artifact) });
  const store = openStateStore(join(dir, 'state.db'));
  t.after(() => store.close());
  const blobs = openBlobstore(join(dir, 'blobs'));
  await assert.rejects(uploadRelease(join(dir, 'rel'), store, blobs), (e: Error) => {
    assert.equal(
      formatErrorChain(e),
      `Uploading release tiny/1: Getting source of package 'tool' from '${src.url}': sha256 mismatch: expected ${sha(artifact)}, got ${sha(Buffer.from('not the artifact'))}`,
    );
    return true;
  });
  assert.equal(store.releases.find('tiny', '1'), undefined);

  // Unreachable URL (a closed port), the artifact in the sources folder by its file name.
  writeRelease(join(dir, 'rel'), { url: 'http://127.0.0.1:9/tool-1.0.tgz', sha256: sha(artifact) });
  mkdirSync(join(dir, 'sources'));
  writeFileSync(join(dir, 'sources/tool-1.0.tgz'), artifact);
  const lines: string[] = [];
  const r = await uploadRelease(join(dir, 'rel'), store, blobs, {
    sourcesDir: join(dir, 'sources'),
    log: (l) => lines.push(l),
  });
  assert.equal(r.record.packages.find((p) => p.name === 'tool')!.blobstorePath, sha(artifact));
  assert.deepEqual(r.fallbacks, []);

  // Nowhere to be found: the package's fallback folder, with a notice naming why.
  writeRelease(join(dir, 'rel2'), { url: 'http://127.0.0.1:9/other.tgz', sha256: 'e'.repeat(64) });
  writeFileSync(join(dir, 'rel2/release.yml'), 'name: tiny2\nversion: "1"\n');
  const r2 = await uploadRelease(join(dir, 'rel2'), store, blobs, { log: (l) => lines.push(l) });
  assert.equal(r2.fallbacks.length, 1);
  assert.match(
    lines.at(-2)!,
    /^Package 'tool': source unavailable \(fetching 'http:\/\/127\.0\.0\.1:9\/other\.tgz': .+\); using its fallback 'packages\/tool\/fb'$/,
  );
  const fb = unpackTar(blobs.get(r2.record.packages.find((p) => p.name === 'tool')!.blobstorePath));
  assert.deepEqual(
    fb.map((e) => e.path),
    ['README'],
  );
});
