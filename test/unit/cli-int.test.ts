import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';

/** `director int` as bosh-cli's users rely on it, beyond the recorded oracle cases. */

async function tmp(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'director-int-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('a vars file is a map of names: n, y, yes and 8080 are names, not booleans or numbers', async (t) => {
  const dir = await tmp(t);
  await writeFile(join(dir, 'm.yml'), 'a: ((n))\nb: ((y))\nc: ((yes))\nd: ((8080))\ne: ((plain))\n');
  // YAML 1.1 reads these keys as false, true, true and 8080; bosh-cli decodes them into strings.
  await writeFile(join(dir, 'vars.yml'), 'n: 3\ny: 5\nyes: "on"\n8080: port\nplain: [1, 2]\n');
  const r = await runCli(['int', 'm.yml', '-l', 'vars.yml', '--var-errs'], { cwd: dir, env: { HOME: dir } });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'a: 3\nb: 5\nc: "on"\nd: port\ne:\n- 1\n- 2\n');
});

test('a vars file whose keys are all strings reads as before (values keep YAML 1.1 types)', async (t) => {
  const dir = await tmp(t);
  await writeFile(join(dir, 'm.yml'), 'a: ((flag))\nb: ((port))\n');
  await writeFile(join(dir, 'vars.yml'), 'flag: yes\nport: 0755\n');
  const r = await runCli(['int', 'm.yml', '-l', 'vars.yml'], { cwd: dir, env: { HOME: dir } });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'a: true\nb: 493\n');
});

test('--vars-store creates its missing folders 0700 and the store 0600, whatever the umask', async (t) => {
  const dir = await tmp(t);
  await writeFile(join(dir, 'm.yml'), 'p: ((pw))\nvariables:\n- name: pw\n  type: password\n');
  const umask = process.umask(0); // a permissive umask: the modes must come from the director
  try {
    const r = await runCli(['int', 'm.yml', '--vars-store', 'secrets/deeper/creds.yml'], {
      cwd: dir,
      env: { HOME: dir },
    });
    assert.equal(r.code, 0, r.stderr);
  } finally {
    process.umask(umask);
  }
  assert.equal(((await stat(join(dir, 'secrets'))).mode & 0o777).toString(8), '700');
  assert.equal(((await stat(join(dir, 'secrets', 'deeper'))).mode & 0o777).toString(8), '700');
  assert.equal(((await stat(join(dir, 'secrets', 'deeper', 'creds.yml'))).mode & 0o777).toString(8), '600');
});
