import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import YAML from 'yaml';
import { formatErrorChain } from '../../../../src/errors.js';
import {
  newOpsFromDefinitions,
  opsFromDefinitions,
  parsePointer,
  PatchError,
  RemoveOp,
  ReplaceOp,
  TestOp,
  DescriptiveOp,
} from '../../../../src/manifest/patch/index.js';
import { clone } from '../../../../src/manifest/value.js';
import type { YamlValue } from '../../../../src/manifest/value.js';

const y = (text: string): YamlValue => YAML.parse(text, { version: '1.1', mapAsMap: true }) as YamlValue;

/** The one line a user sees. */
function failure(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof PatchError, `expected a PatchError, got ${String(err)}`);
    return formatErrorChain(err);
  }
  assert.fail('expected a failure');
}

const build = (text: string, source = 'ops.yml') => opsFromDefinitions(y(text), source);

describe('newOpsFromDefinitions', () => {
  it('builds replace, remove, test and absent-test ops, and wraps ops with `error:`', () => {
    const ops = newOpsFromDefinitions([
      { type: 'replace', path: '/abc', value: 123 },
      { type: 'remove', path: '/abc' },
      { type: 'test', path: '/abc', value: 123 },
      { type: 'test', path: '/abc', absent: true },
      { type: 'remove', path: '/abc', error: 'gone' },
    ]);
    assert.deepEqual(ops.ops, [
      new ReplaceOp(parsePointer('/abc'), 123),
      new RemoveOp(parsePointer('/abc')),
      new TestOp(parsePointer('/abc'), 123, false),
      new TestOp(parsePointer('/abc'), null, true),
      new DescriptiveOp(new RemoveOp(parsePointer('/abc')), 'gone'),
    ]);
  });

  const invalid: [string, Parameters<typeof newOpsFromDefinitions>[0], string][] = [
    ['an unknown type', [{ type: 'op' }], `Unknown operation [0] with type 'op' within\n{\n  "Type": "op"\n}`],
    [
      'find, which is no list op',
      [{ type: 'find', path: '/a' }],
      `Unknown operation [0] with type 'find' within\n{\n  "Type": "find",\n  "Path": "/a"\n}`,
    ],
    [
      'an unknown type, redacting the value',
      [{ type: 'op', path: 'abc', value: new Map([[123, 123]]) }],
      `Unknown operation [0] with type 'op' within\n{\n  "Type": "op",\n  "Path": "abc",\n  "Value": "<redacted>"\n}`,
    ],
    ['a missing type', [{ type: '' }], `Unknown operation [0] with type '' within\n{}`],
    [
      'replace without path',
      [{ type: 'replace' }],
      `Replace operation [0]: Missing path within\n{\n  "Type": "replace"\n}`,
    ],
    [
      'replace without value',
      [{ type: 'replace', path: '/abc' }],
      `Replace operation [0]: Missing value within\n{\n  "Type": "replace",\n  "Path": "/abc"\n}`,
    ],
    [
      'replace with an invalid path',
      [{ type: 'replace', path: 'abc', value: 1 }],
      `Replace operation [0]: Invalid path: Expected to start with '/' within\n{\n  "Type": "replace",\n  "Path": "abc",\n  "Value": "<redacted>"\n}`,
    ],
    [
      'remove without path',
      [{ type: 'remove' }],
      `Remove operation [0]: Missing path within\n{\n  "Type": "remove"\n}`,
    ],
    [
      'remove with a value',
      [{ type: 'remove', path: '/abc', value: 1 }],
      `Remove operation [0]: Cannot specify value within\n{\n  "Type": "remove",\n  "Path": "/abc",\n  "Value": "<redacted>"\n}`,
    ],
    ['test without path', [{ type: 'test' }], `Test operation [0]: Missing path within\n{\n  "Type": "test"\n}`],
    [
      'test without value or absent',
      [{ type: 'test', path: '/abc' }],
      `Test operation [0]: Missing value or absent within\n{\n  "Type": "test",\n  "Path": "/abc"\n}`,
    ],
    [
      'the second op, showing error and absent as Go encodes them',
      [
        { type: 'remove', path: '/a' },
        { type: 'test', path: 'x', absent: false, error: 'a & <b>' },
      ],
      `Test operation [1]: Invalid path: Expected to start with '/' within\n{\n  "Type": "test",\n  "Path": "x",\n  "Absent": false,\n  "Error": "a \\u0026 <b>"\n}`,
    ],
  ];
  for (const [what, defs, message] of invalid) {
    it(`rejects ${what}`, () => {
      assert.throws(
        () => newOpsFromDefinitions(defs),
        (err: unknown) => err instanceof PatchError && err.message === message,
      );
    });
  }
});

describe('opsFromDefinitions', () => {
  const doc = () => y('{a: {c: 1, b: 2}, releases: [{name: capi, version: 0.1}]}');

  it('applies an ops-file in order and leaves the input alone', () => {
    const input = doc();
    const before = clone(input);
    const op = build(`
- type: replace
  path: /a/d?
  value: 4
- type: test
  path: /a/d
  value: 4
- type: remove
  path: /a/c
- type: replace
  path: /releases/name=capi/version
  value: latest
`);
    assert.deepEqual(op.apply(input), y('{a: {b: 2, d: 4}, releases: [{name: capi, version: latest}]}'));
    assert.deepEqual(input, before);
  });

  it("names the file and the op's index (from 0, as bosh-cli) around go-patch's error", () => {
    const op = build(`
- type: replace
  path: /a/b
  value: 3
- type: replace
  path: /a/x
  value: 1
`);
    assert.equal(
      failure(() => op.apply(doc())),
      "Applying ops-file 'ops.yml': Error 'operation [1] in ops.yml failed': Expected to find a map key 'x' for path '/a/x' (found map keys: 'b', 'c')",
    );
  });

  it('puts the `error:` of the definition in front of the failure (go-patch DescriptiveOp)', () => {
    const op = build(`
- type: remove
  path: /releases/0/not-there
  error: Custom error message
`);
    assert.equal(
      failure(() => op.apply(doc())),
      "Applying ops-file 'ops.yml': Error 'operation [0] in ops.yml failed': Error 'Custom error message': " +
        "Expected to find a map key 'not-there' for path '/releases/0/not-there' (found map keys: 'name', 'version')",
    );
  });

  it('checks absence with `absent: true`', () => {
    const op = build('- {type: test, path: /releases/0, absent: true}');
    assert.equal(
      failure(() => op.apply(doc())),
      "Applying ops-file 'ops.yml': Error 'operation [0] in ops.yml failed': Expected to not find '/releases/0'",
    );
    const input = doc();
    assert.equal(build('- {type: test, path: /releases/1, absent: true}').apply(input), input);
  });

  it('ignores unknown keys in a definition, as yaml.v2 does', () => {
    const op = build('- {type: replace, path: /a/b, value: 5, note: why, Type: remove, 7: x}');
    assert.deepEqual(op.apply(doc()), y('{a: {c: 1, b: 5}, releases: [{name: capi, version: 0.1}]}'));
  });

  it('treats an empty file as no ops', () => {
    const input = doc();
    assert.equal(opsFromDefinitions(null, 'empty.yml').apply(input), input);
    assert.equal(build('[]').apply(input), input);
  });

  it('treats `value: ~` as a missing value (yaml.v2 leaves the pointer nil)', () => {
    assert.equal(
      failure(() => build('- {type: replace, path: /a/b, value: ~}')),
      `Building ops from ops-file 'ops.yml': Replace operation [0]: Missing value within { "Type": "replace", "Path": "/a/b" }`,
    );
    assert.deepEqual(
      build('- {type: remove, path: /a/b, value: ~}').apply(doc()),
      y('{a: {c: 1}, releases: [{name: capi, version: 0.1}]}'),
    );
  });

  it('reads a scalar type or path as its text, as yaml.v2 does for string fields', () => {
    assert.equal(
      failure(() => build('- {type: 5, path: 6}')),
      `Building ops from ops-file 'ops.yml': Unknown operation [0] with type '5' within { "Type": "5", "Path": "6" }`,
    );
  });

  it('rejects malformed files with yaml.v2 messages and the file name', () => {
    const cases: [string, string][] = [
      ['{type: replace}', 'cannot unmarshal !!map into []patch.OpDefinition'],
      ['just text', 'cannot unmarshal !!str `just text` into []patch.OpDefinition'],
      ['- a string op', 'cannot unmarshal !!str `a strin...` into patch.OpDefinition'],
      ['- [1]', 'cannot unmarshal !!seq into patch.OpDefinition'],
      ['- {type: [replace], path: /a}', 'cannot unmarshal !!seq into string'],
      [
        '- {type: test, path: {a: 1}, absent: "true"}',
        'cannot unmarshal !!map into string cannot unmarshal !!str `true` into bool',
      ],
    ];
    for (const [text, errors] of cases) {
      assert.equal(
        failure(() => build(text, 'bad.yml')),
        `Deserializing ops file 'bad.yml': yaml: unmarshal errors: ${errors}`,
      );
    }
  });

  it('rejects a definition without type or path with go-patch messages and the file name', () => {
    assert.equal(
      failure(() => build('- {path: /a, value: 1}')),
      `Building ops from ops-file 'ops.yml': Unknown operation [0] with type '' within { "Path": "/a", "Value": "<redacted>" }`,
    );
    assert.equal(
      failure(() => build('- ~')),
      `Building ops from ops-file 'ops.yml': Unknown operation [0] with type '' within {}`,
    );
    assert.equal(
      failure(() => build('- {type: remove, path: /a}\n- {type: remove}')),
      `Building ops from ops-file 'ops.yml': Remove operation [1]: Missing path within { "Type": "remove" }`,
    );
    assert.equal(
      failure(() => build('- {type: remove, path: "/a:bad"}')),
      "Building ops from ops-file 'ops.yml': Remove operation [0]: Invalid path: Expected to find one of the following modifiers: " +
        `'prev', 'next', 'before', or 'after' but found 'bad' within { "Type": "remove", "Path": "/a:bad" }`,
    );
  });

  it('can be applied again and again with the same result', () => {
    const op = build('- {type: replace, path: /l?/-, value: {x: [1]}}\n- {type: replace, path: /l/0/x/-, value: 2}');
    const first = op.apply(y('{}'));
    assert.deepEqual(first, y('{l: [{x: [1, 2]}]}'));
    assert.deepEqual(op.apply(y('{}')), first);
  });
});
