import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { extractTar, readTar, writeTar } from '../../../agent/tar.js';
import type { TarEntry } from '../../../agent/tar.js';

const longDir = `${'d'.repeat(60)}/${'e'.repeat(60)}`;
const longestName = `${'f'.repeat(120)}.log`;

describe('agent tar writer and reader', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'agent-tar-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const entries: TarEntry[] = [
    { path: 'log', type: 'dir', mode: 0o755, mtime: 1_700_000_000 },
    { path: 'log/web.log', type: 'file', mode: 0o640, mtime: 1_700_000_000, data: Buffer.from('hello\n') },
    { path: 'log/empty.log', type: 'file', mode: 0o600, mtime: 1_700_000_000, data: Buffer.alloc(0) },
    {
      path: `log/${longDir}/split-by-prefix.log`,
      type: 'file',
      mode: 0o644,
      mtime: 1_700_000_000,
      data: Buffer.alloc(1000, 'x'),
    },
    { path: `log/${longestName}`, type: 'file', mode: 0o644, mtime: 1_700_000_000, data: Buffer.from('pax path\n') },
    { path: 'log/current', type: 'symlink', mode: 0o777, mtime: 1_700_000_000, linkname: 'web.log' },
  ];

  it('writes archives GNU tar lists and extracts byte for byte', () => {
    const file = join(dir, 'a.tgz');
    writeFileSync(file, gzipSync(writeTar(entries)));
    const listing = execFileSync('tar', ['-tzf', file], { encoding: 'utf8' }).trim().split('\n');
    assert.deepEqual(listing, [
      'log/',
      'log/web.log',
      'log/empty.log',
      `log/${longDir}/split-by-prefix.log`,
      `log/${longestName}`,
      'log/current',
    ]);
    const out = join(dir, 'out');
    mkdirSync(out);
    execFileSync('tar', ['-xzf', file, '-C', out]);
    assert.equal(readFileSync(join(out, 'log/web.log'), 'utf8'), 'hello\n');
    assert.equal(statSync(join(out, 'log/web.log')).mode & 0o777, 0o640);
    assert.equal(statSync(join(out, 'log/web.log')).mtimeMs, 1_700_000_000_000);
    assert.equal(readFileSync(join(out, `log/${longDir}/split-by-prefix.log`), 'utf8'), 'x'.repeat(1000));
    assert.equal(readFileSync(join(out, `log/${longestName}`), 'utf8'), 'pax path\n');
    assert.equal(readlinkSync(join(out, 'log/current')), 'web.log');
  });

  it('reads back what it writes', () => {
    const back = readTar(writeTar(entries));
    assert.deepEqual(
      back.map((e) => [e.path, e.type, e.mode, e.data?.toString() ?? e.linkname]),
      entries.map((e) => [e.path, e.type, e.mode, e.data?.toString() ?? e.linkname]),
    );
  });

  it('reads an archive made by GNU tar (long names as GNU records), as a package tarball is', () => {
    const src = join(dir, 'pkg');
    mkdirSync(join(src, 'bin'), { recursive: true });
    writeFileSync(join(src, 'bin', 'serve'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
    writeFileSync(join(src, longestName), 'long\n');
    symlinkSync('bin/serve', join(src, 'run'));
    const file = join(dir, 'pkg.tgz');
    execFileSync('tar', ['--format=gnu', '-czf', file, '-C', src, '.']);
    const got = readTar(gunzipSync(readFileSync(file)));
    const byPath = new Map(got.map((e) => [e.path, e]));
    assert.equal(byPath.get('bin/serve')?.data?.toString(), '#!/bin/sh\necho hi\n');
    assert.equal(byPath.get('bin/serve')?.mode, 0o755);
    assert.equal(byPath.get(longestName)?.data?.toString(), 'long\n');
    assert.equal(byPath.get('run')?.linkname, 'bin/serve');
    const dest = join(dir, 'extracted');
    extractTar(readFileSync(file), dest);
    assert.equal(readFileSync(join(dest, 'run'), 'utf8'), '#!/bin/sh\necho hi\n');
  });

  it('refuses entries that would land outside the destination (`..`, absolute paths, escaping links, paths through a link), and damaged headers', () => {
    const evil = writeTar([{ path: '../escape', type: 'file', mode: 0o644, mtime: 0, data: Buffer.from('x') }]);
    assert.throws(() => extractTar(evil, join(dir, 'evil')), /tar: entry '..\/escape' points outside the destination/);
    const outside = join(dir, 'outside');
    const refused: TarEntry[][] = [
      [{ path: `${outside}/absolute`, type: 'file', mode: 0o644, mtime: 0, data: Buffer.from('x') }],
      [{ path: 'up', type: 'symlink', mode: 0o777, mtime: 0, linkname: '../../outside' }],
      [{ path: 'abs', type: 'symlink', mode: 0o777, mtime: 0, linkname: outside }],
      [
        { path: 'real', type: 'dir', mode: 0o755, mtime: 0 },
        { path: 'via', type: 'symlink', mode: 0o777, mtime: 0, linkname: 'real' },
        { path: 'via/through-a-link', type: 'file', mode: 0o644, mtime: 0, data: Buffer.from('x') },
      ],
    ];
    for (const [i, archive] of refused.entries()) {
      assert.throws(
        () => extractTar(writeTar(archive), join(dir, `refused-${i}`, 'dest')),
        /^Error: tar: entry '.+' points outside the destination/,
        String(i),
      );
    }
    assert.equal(existsSync(outside), false);
    assert.equal(existsSync(join(dir, 'refused-3', 'dest', 'real', 'through-a-link')), false);
    const damaged = Buffer.from(writeTar(entries));
    damaged[10] = 0x41;
    assert.throws(() => readTar(damaged), /tar: bad header checksum at offset 0/);
  });
});
