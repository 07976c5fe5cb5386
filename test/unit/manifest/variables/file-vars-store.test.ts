import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { formatErrorChain } from '../../../../src/errors.js';
import { FileVarsStore } from '../../../../src/manifest/variables/file-vars-store.js';
import { StaticVariables } from '../../../../src/manifest/variables/static-variables.js';
import { evaluateTemplate } from '../../../../src/manifest/variables/template.js';
import { fromPlain, toPlain } from '../../../../src/manifest/value.js';
import { parseYaml } from '../../../../src/manifest/yaml.js';

const root = mkdtempSync(join(tmpdir(), 'director-vars-store-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
function freshDir(): string {
  const d = join(root, String(n++));
  mkdirSync(d);
  return d;
}

async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return formatErrorChain(err);
  }
  assert.fail('expected a failure');
}

const mode = (path: string) => statSync(path).mode & 0o777;

describe('FileVarsStore', () => {
  it('starts empty when the file does not exist, and creates it (and its folder) with mode 0600', async () => {
    const path = join(freshDir(), 'sub', 'creds.yml');
    const store = new FileVarsStore(path);
    assert.equal(await store.get('a'), undefined);
    assert.deepEqual(await store.names(), []);
    await store.put('b', 'two');
    await store.put('a', fromPlain({ certificate: 'C\n', ca: 'A\n' }));
    assert.equal(mode(path), 0o600);
    assert.equal(readFileSync(path, 'utf8'), 'a:\n  ca: |\n    A\n  certificate: |\n    C\nb: two\n');
    const reread = new FileVarsStore(path);
    assert.deepEqual(toPlain((await reread.get('a'))!), { certificate: 'C\n', ca: 'A\n' });
    assert.deepEqual([...(await reread.names())].sort(), ['a', 'b']);
  });

  it('keeps existing entries and narrows an existing file to 0600', async () => {
    const path = join(freshDir(), 'creds.yml');
    writeFileSync(path, 'old: value\nnum: 3\n');
    chmodSync(path, 0o644);
    const store = new FileVarsStore(path);
    assert.equal(await store.get('num'), 3);
    await store.put('new', 'x');
    assert.equal(mode(path), 0o600);
    assert.deepEqual(toPlain(parseYaml(readFileSync(path, 'utf8'), path)), { new: 'x', num: 3, old: 'value' });
  });

  it('serializes concurrent puts: none is lost', async () => {
    const path = join(freshDir(), 'creds.yml');
    const store = new FileVarsStore(path);
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.put(`v${i}`, i)));
    const doc = toPlain(parseYaml(readFileSync(path, 'utf8'), path)) as Record<string, number>;
    assert.equal(Object.keys(doc).length, 20);
    assert.equal(doc.v13, 13);
  });

  it('resolves each of many puts made together only once the file holds its value', async () => {
    const path = join(freshDir(), 'creds.yml');
    const store = new FileVarsStore(path);
    const onDisk = () => toPlain(parseYaml(readFileSync(path, 'utf8'), path)) as Record<string, number>;
    const puts = Array.from({ length: 10 }, (_, i) =>
      store.put(`v${i}`, i).then(() => assert.equal(onDisk()[`v${i}`], i)),
    );
    await Promise.all(puts);
    // A put made after the others were written is written by a write of its own.
    await store.put('v3', 33);
    assert.deepEqual(onDisk(), { v0: 0, v1: 1, v2: 2, v3: 33, v4: 4, v5: 5, v6: 6, v7: 7, v8: 8, v9: 9 });
  });

  it('a failed write leaves the old file and no temporary file', async () => {
    const dir = freshDir();
    const path = join(dir, 'creds.yml');
    const store = new FileVarsStore(path);
    await store.put('a', 'kept');
    rmSync(path);
    mkdirSync(path); // rename over a folder fails
    const msg = await failure(store.put('b', 'lost'));
    assert.match(msg, new RegExp(`^Writing variables to file store '${path}': `));
    assert.deepEqual(readdirSync(dir), ['creds.yml']);
    assert.deepEqual(readdirSync(path), []);
    // The failed put is not remembered and later puts still work.
    rmSync(path, { recursive: true });
    await store.put('c', 'after');
    assert.deepEqual(toPlain(parseYaml(readFileSync(path, 'utf8'), path)), { a: 'kept', c: 'after' });
  });

  it('a process killed while writing leaves the previous or the next store, never a partial one', async () => {
    const dir = freshDir();
    const path = join(dir, 'creds.yml');
    const moduleUrl = new URL('../../../../src/manifest/variables/file-vars-store.js', import.meta.url).href;
    const script = `
      const { FileVarsStore } = await import(${JSON.stringify(moduleUrl)});
      const store = new FileVarsStore(${JSON.stringify(path)});
      for (let i = 0; ; i++) {
        await store.put('big', String(i % 10).repeat(1 << 20) + '\\n' + i);
        process.stdout.write(i + '\\n');
      }`;
    const child = spawn(process.execPath, [...process.execArgv, '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.once('exit', (code) => reject(new Error(`child exited early (${code})`)));
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.split('\n').length > 3) resolve();
      });
    });
    child.removeAllListeners('exit');
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    const doc = parseYaml(readFileSync(path, 'utf8'), path) as Map<string, string>;
    const big = doc.get('big')!;
    const i = Number(big.slice(big.lastIndexOf('\n') + 1));
    assert.ok(i >= 2);
    assert.equal(big, String(i % 10).repeat(1 << 20) + '\n' + i);
    assert.equal(mode(path), 0o600);
  });

  it('reports an unreadable store, naming the file', async () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'list.yml'), '- a\n');
    writeFileSync(join(dir, 'bad.yml'), 'a: [\n');
    assert.equal(
      await failure(new FileVarsStore(join(dir, 'list.yml')).get('a')),
      `Deserializing variables file store '${join(dir, 'list.yml')}': expected a map, found '[]interface {}'`,
    );
    assert.match(
      await failure(new FileVarsStore(join(dir, 'bad.yml')).get('a')),
      /^Deserializing variables file store '.*bad\.yml': Parsing YAML file/,
    );
  });

  it('fromFlag expands ~ and relative paths and refuses an empty one', () => {
    assert.equal(FileVarsStore.fromFlag('creds.yml', '/w', '/h').path, '/w/creds.yml');
    assert.equal(FileVarsStore.fromFlag('~/creds.yml', '/w', '/h').path, '/h/creds.yml');
    assert.throws(() => FileVarsStore.fromFlag('', '/w'), { message: 'Expected file path to be non-empty' });
  });

  it('with evaluateTemplate: generates into the file once, then reads it back unchanged', async () => {
    const path = join(freshDir(), 'creds.yml');
    const manifest = fromPlain({
      variables: [
        { name: 'admin', type: 'password' },
        { name: 'key', type: 'ssh' },
        { name: 'given', type: 'password' },
      ],
      a: '((admin))',
      k: '((key.public_key))',
      g: '((given))',
    });
    const vars = new StaticVariables([['given', 'from-flag']]);
    const first = toPlain(
      await evaluateTemplate(manifest, { vars, store: FileVarsStore.fromFlag(path, '/') }),
    ) as Record<string, unknown>;
    const text = readFileSync(path, 'utf8');
    assert.deepEqual(Object.keys(toPlain(parseYaml(text, path)) as object), ['admin', 'key']);
    assert.match(text, /^admin: [a-z0-9]{20}\nkey:\n {2}private_key: \|\n {4}-----BEGIN RSA PRIVATE KEY-----\n/);
    assert.equal(first.g, 'from-flag');
    assert.deepEqual(first.variables, []);
    const second = toPlain(await evaluateTemplate(manifest, { vars, store: new FileVarsStore(path) }));
    assert.deepEqual(second, first);
    assert.equal(readFileSync(path, 'utf8'), text);
  });
});
