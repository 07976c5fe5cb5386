import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { CliIo } from '../../../src/cli/io.js';
import { main as intMain } from '../../../src/cli/int-main.js';
import { main as fullMain } from '../../../src/cli/main.js';
import { repoRoot } from '../../helpers/director-process.js';

type Main = (argv: readonly string[], io: CliIo) => Promise<number>;

async function run(
  main: Main,
  argv: readonly string[],
  cwd: string,
  stdin = '',
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (c: Buffer) => (stdout += c.toString()));
  err.on('data', (c: Buffer) => (stderr += c.toString()));
  const io: CliIo = {
    stdout: out,
    stderr: err,
    stdin: Readable.from([stdin]),
    env: { APP_a: 'from-env' },
    cwd,
    interactive: false,
  };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

describe('director int, run by its own CLI (what bin/director.js bundles)', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'int-cli-'));
    writeFileSync(
      join(dir, 'm.yml'),
      'name: ((name))\nlist: [1, 2]\nkey: ((a))\nvariables:\n- name: pw\n  type: password\n',
    );
    writeFileSync(join(dir, 'ops.yml'), '- type: replace\n  path: /list/-\n  value: 3\n- type: remove\n  path: /key\n');
    writeFileSync(join(dir, 'bad-ops.yml'), '- type: replace\n  path: /nope/x\n  value: 1\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const cases: readonly (readonly string[])[] = [
    ['int', 'm.yml'],
    ['interpolate', 'm.yml', '-o', 'ops.yml', '-v', 'name=n', '--vars-env', 'APP'],
    ['int', 'm.yml', '--var-errs'],
    ['int', 'm.yml', '-v', 'name=n', '-v', 'unused=1', '--var-errs-unused'],
    ['int', 'm.yml', '-v', 'name=n', '--path', '/name'],
    ['int', 'm.yml', '-o', 'bad-ops.yml'],
    ['int', 'missing.yml'],
    ['int', '-'],
    ['int'],
    ['int', '--bogus', 'm.yml'],
    ['int', '--help'],
    ['interpolate', '-h'],
    // plain forms (run without commander) and the forms only commander reads
    ['int', '-o', 'ops.yml', 'm.yml', '--vars-env', 'APP', '-v', 'name=first', '--var', 'name=second', '--var-errs'],
    ['int', 'm.yml', '-v', '-x=1', '-v', 'name=cf', '--var-errs-unused'],
    [
      'int',
      'm.yml',
      '--vars-store',
      'no/such/dir/../../s1.yml',
      '--vars-store',
      's2.yml',
      '-v',
      'name=cf',
      '--path',
      '/list',
      '--path',
      '/name',
    ],
    ['int', 'm.yml', '--var-file', 'name=ops.yml', '-l', 'missing-vars.yml'],
    ['int', '--ops-file=ops.yml', 'm.yml'],
    ['int', '-oops.yml', 'm.yml'],
    ['int', 'm.yml', '--', '-o'],
    ['int', 'm.yml', 'extra.yml'],
    ['int', 'm.yml', '--vars-store'],
    ['int', 'm.yml', '-V'],
    ['int', 'm.yml', '-5'],
  ];
  for (const argv of cases) {
    it(`answers \`${argv.join(' ')}\` exactly as the full CLI does`, async () => {
      const full = await run(fullMain, argv, dir, 'a: ((a))\n');
      const only = await run(intMain, argv, dir, 'a: ((a))\n');
      assert.deepEqual(only, full);
    });
  }

  it('bin/director.js runs int from the bundle: no package and no module of dist/src is loaded', () => {
    // Every ESM module (hooked) and every CommonJS one (require.cache) the process loaded.
    const hooks = join(dir, 'hooks.mjs');
    writeFileSync(
      hooks,
      'export async function load(url, context, next) { process._rawDebug(`LOADED ${url}`); return next(url, context); }\n',
    );
    const preload = join(dir, 'preload.mjs');
    writeFileSync(
      preload,
      [
        "import { createRequire, register } from 'node:module';",
        `register(${JSON.stringify(pathToFileURL(hooks).href)});`,
        'const require = createRequire(import.meta.url);',
        "process.on('exit', () => { for (const f of Object.keys(require.cache)) process._rawDebug(`LOADED ${f}`); });",
      ].join('\n'),
    );
    const r = spawnSync(
      process.execPath,
      [
        '--import',
        pathToFileURL(preload).href,
        join(repoRoot, 'bin', 'director.js'),
        'int',
        'm.yml',
        '-o',
        'ops.yml',
        '-v',
        'name=cf',
      ],
      {
        cwd: dir,
        encoding: 'utf8',
      },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'list:\n- 1\n- 2\n- 3\nname: cf\nvariables:\n- name: pw\n  type: password\n');
    const loaded = [...r.stderr.matchAll(/^LOADED (.*)$/gm)]
      .map((m) => m[1]!)
      .filter((u) => !u.startsWith('node:') && u !== pathToFileURL(preload).href);
    assert.ok(
      loaded.some((u) => u.includes('/dist/cli/int-main.js')),
      loaded.join('\n'),
    );
    assert.deepEqual(
      loaded.filter((u) => u.includes('node_modules') || u.includes('/dist/src/')),
      [],
    );
  });
});
