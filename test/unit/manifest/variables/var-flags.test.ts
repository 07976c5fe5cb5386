import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { formatErrorChain } from '../../../../src/errors.js';
import { MemoryVariableStore } from '../../../../src/manifest/variables/memory-variable-store.js';
import { evaluateTemplate } from '../../../../src/manifest/variables/template.js';
import { expandPath, parseVarKV, varsFromEnv, varsFromFlags } from '../../../../src/manifest/variables/var-flags.js';
import type { VarFlags } from '../../../../src/manifest/variables/var-flags.js';
import { fromPlain, toPlain } from '../../../../src/manifest/value.js';

const dir = mkdtempSync(join(tmpdir(), 'director-var-flags-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string): string {
  writeFileSync(join(dir, name), content);
  return name;
}

function flags(f: Partial<VarFlags>): VarFlags {
  return { varKVs: [], varFiles: [], varsFiles: [], varsEnv: [], env: {}, cwd: dir, home: join(dir, 'home'), ...f };
}

function value(f: Partial<VarFlags>, name = 'a'): unknown {
  const v = varsFromFlags(flags(f)).get(name);
  return v === undefined ? undefined : toPlain(v);
}

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return formatErrorChain(err);
  }
  assert.fail('expected an error');
}

describe('precedence (bosh-cli VarFlags.AsVariables)', () => {
  file('l1.yml', 'a: from-l1\nonly1: 1\nm: {x: 1, y: 2}\n');
  file('l2.yml', 'a: from-l2\nm: {x: 9}\n');
  file('vf1.txt', 'from-var-file-1');
  file('vf2.txt', 'from-var-file-2');
  const env = { P_a: 'from-env', Q_a: 'from-env-q' };

  it('-v over --var-file over -l over --vars-env, whatever the order on the command line', () => {
    const table: [Partial<VarFlags>, unknown][] = [
      [{ varsEnv: ['P'], env }, 'from-env'],
      [{ varsEnv: ['P'], env, varsFiles: ['l1.yml'] }, 'from-l1'],
      [{ varsEnv: ['P'], env, varsFiles: ['l1.yml'], varFiles: ['a=vf1.txt'] }, 'from-var-file-1'],
      [{ varsEnv: ['P'], env, varsFiles: ['l1.yml'], varFiles: ['a=vf1.txt'], varKVs: ['a=from-v'] }, 'from-v'],
      [{ varKVs: ['a=from-v'], varsFiles: ['l1.yml'] }, 'from-v'],
    ];
    for (const [f, expected] of table) assert.equal(value(f), expected, JSON.stringify(f));
  });

  it('within one kind the later flag wins', () => {
    assert.equal(value({ varKVs: ['a=1', 'a=2'] }), 2);
    assert.equal(value({ varsFiles: ['l1.yml', 'l2.yml'] }), 'from-l2');
    assert.equal(value({ varsFiles: ['l2.yml', 'l1.yml'] }), 'from-l1');
    assert.equal(value({ varFiles: ['a=vf2.txt', 'a=vf1.txt'] }), 'from-var-file-1');
    assert.equal(value({ varsEnv: ['P', 'Q'], env }), 'from-env-q');
    assert.equal(value({ varsEnv: ['Q', 'P'], env }), 'from-env');
  });

  it('merges top-level names only: a later -l replaces a map', () => {
    assert.deepEqual(value({ varsFiles: ['l1.yml', 'l2.yml'] }, 'm'), { x: 9 });
    assert.equal(value({ varsFiles: ['l1.yml', 'l2.yml'] }, 'only1'), 1);
  });

  it('the command line wins over the vars store, which is only asked for what the flags lack', async () => {
    const store = new MemoryVariableStore([
      ['a', 'stored'],
      ['b', 'stored-b'],
    ]);
    const out = await evaluateTemplate(fromPlain({ a: '((a))', b: '((b))' }), {
      vars: varsFromFlags(flags({ varKVs: ['a=given'] })),
      store,
    });
    assert.deepEqual(toPlain(out), { a: 'given', b: 'stored-b' });
  });
});

describe('-v name=value', () => {
  it('reads the value as YAML (yaml.v2 types) and keeps strings as typed, minus wrapping quotes', () => {
    const table: [string, unknown][] = [
      ['p=8080', 8080],
      ['b=yes', true],
      ['n=~', null],
      ['m={a: 1}', { a: 1 }],
      ['l=[1, two]', [1, 'two']],
      ['s=plain', 'plain'],
      ['q="double"', 'double'],
      ["q='single'", 'single'],
      ['c=a #comment kept', 'a #comment kept'],
      ['e=x=y', 'x=y'],
      ['k=key: value', { key: 'value' }],
    ];
    for (const [arg, expected] of table) {
      const [name, v] = parseVarKV(arg);
      assert.equal(name, arg.slice(0, arg.indexOf('=')));
      assert.deepEqual(toPlain(v), expected, arg);
    }
  });

  it("reports bosh-cli's format errors", () => {
    assert.equal(
      errorOf(() => parseVarKV('abc')),
      "Expected var 'abc' to be in format 'name=value'",
    );
    assert.equal(
      errorOf(() => parseVarKV('=x')),
      "Expected var '=x' to specify non-empty name",
    );
    assert.equal(
      errorOf(() => parseVarKV('x=')),
      "Expected var 'x=' to specify non-empty value",
    );
  });

  it('does not echo the value of a -v that is not valid YAML (it may be a secret)', () => {
    const msg = errorOf(() => parseVarKV('pw=[s3cr3t'));
    assert.match(msg, /^Deserializing variables 'pw=\.\.\.': /);
    assert.ok(!msg.includes('s3cr3t'));
  });

  it('a dotted name sets a key inside a map', async () => {
    const out = await evaluateTemplate(fromPlain({ x: '((a.b))', y: '((a))' }), {
      vars: varsFromFlags(flags({ varKVs: ['a.b=1', 'a.c=2'] })),
    });
    assert.deepEqual(toPlain(out), { x: 1, y: { b: 1, c: 2 } });
  });
});

describe('--var-file, -l, --vars-env', () => {
  it('--var-file gives the file content as a string, verbatim; ~ and relative paths resolve', () => {
    file('cert.pem', '-----BEGIN X-----\n123\n-----END X-----\n');
    mkdirSync(join(dir, 'home'), { recursive: true });
    writeFileSync(join(dir, 'home', 'h.txt'), '8080');
    assert.equal(value({ varFiles: ['a=cert.pem'] }), '-----BEGIN X-----\n123\n-----END X-----\n');
    assert.equal(value({ varFiles: ['a=~/h.txt'] }), '8080');
    assert.equal(
      errorOf(() => varsFromFlags(flags({ varFiles: ['nopath'] }))),
      "Expected var 'nopath' to be in format 'name=path'",
    );
    assert.equal(
      errorOf(() => varsFromFlags(flags({ varFiles: ['=p'] }))),
      "Expected var '=p' to specify non-empty name",
    );
    assert.equal(
      errorOf(() => varsFromFlags(flags({ varFiles: ['a='] }))),
      "Expected var 'a=' to specify non-empty path",
    );
    assert.match(
      errorOf(() => varsFromFlags(flags({ varFiles: ['a=missing.txt'] }))),
      new RegExp(`^Reading variable from file '${join(dir, 'missing.txt')}': ENOENT`),
    );
  });

  it('-l reads a YAML map with nested values; an empty file has none; anything else is an error', () => {
    file('nested.yml', 'a:\n  deep: [1, {k: v}]\n');
    file('empty.yml', '# nothing\n');
    file('list.yml', '- a\n');
    file('broken.yml', 'a: [\n');
    assert.deepEqual(value({ varsFiles: ['nested.yml'] }), { deep: [1, { k: 'v' }] });
    assert.deepEqual(varsFromFlags(flags({ varsFiles: ['empty.yml'] })).names(), []);
    assert.equal(
      errorOf(() => varsFromFlags(flags({ varsFiles: ['list.yml'] }))),
      "Deserializing variables file 'list.yml': expected a map, found '[]interface {}'",
    );
    assert.match(
      errorOf(() => varsFromFlags(flags({ varsFiles: ['broken.yml'] }))),
      /^Deserializing variables file 'broken.yml': Parsing YAML file 'broken.yml': line \d+/,
    );
    assert.match(
      errorOf(() => varsFromFlags(flags({ varsFiles: ['nope.yml'] }))),
      /^Reading variables file 'nope.yml': ENOENT/,
    );
    assert.equal(
      errorOf(() => varsFromFlags(flags({ varsFiles: [''] }))),
      'Expected file path to be non-empty',
    );
  });

  it('--vars-env takes PREFIX_name variables, values read as YAML', () => {
    const env = {
      DIR_port: '8080',
      DIR_obj: '{a: [1]}',
      DIR_s: 'text',
      DIRX_no: '1',
      DIR: 'no',
      OTHER_x: '1',
      DIR_unset: undefined,
    };
    assert.deepEqual(
      varsFromEnv('DIR', env).map(([k, v]) => [k, toPlain(v)]),
      [
        ['port', 8080],
        ['obj', { a: [1] }],
        ['s', 'text'],
      ],
    );
    assert.equal(
      errorOf(() => varsFromEnv('', env)),
      'Expected environment variable prefix to be non-empty',
    );
    assert.match(
      errorOf(() => varsFromEnv('BAD', { BAD_x: '[' })),
      /^Deserializing YAML from environment variable 'BAD_x': /,
    );
  });

  it('expandPath: ~ is the home folder, relative paths are from cwd', () => {
    assert.equal(expandPath('~/x.yml', '/w', '/h'), '/h/x.yml');
    assert.equal(expandPath('~', '/w', '/h'), '/h');
    assert.equal(expandPath('x.yml', '/w', '/h'), '/w/x.yml');
    assert.equal(expandPath('/abs', '/w', '/h'), '/abs');
  });
});
