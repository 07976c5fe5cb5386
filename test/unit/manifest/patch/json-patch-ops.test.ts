import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import YAML from 'yaml';
import { formatErrorChain } from '../../../../src/errors.js';
import { isJsonPatchDocument, opsFromDefinitions, PatchError } from '../../../../src/manifest/patch/index.js';
import { clone, isArray } from '../../../../src/manifest/value.js';
import type { YamlValue } from '../../../../src/manifest/value.js';

const y = (text: string): YamlValue => YAML.parse(text, { version: '1.1', mapAsMap: true }) as YamlValue;

function failure(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof PatchError, `expected a PatchError, got ${String(err)}`);
    return formatErrorChain(err);
  }
  assert.fail('expected a failure');
}

const doc = () => y('{name: cf, groups: [{name: api, instances: 1}, {name: db, instances: 1}], tags: {a: 1}}');

describe('RFC 6902 ops-files', () => {
  it('are told apart from go-patch files by `op:` per file', () => {
    const items = (text: string) => {
      const v = y(text);
      assert.ok(isArray(v));
      return v;
    };
    assert.equal(isJsonPatchDocument(items('[{op: add, path: /a, value: 1}]')), true);
    assert.equal(isJsonPatchDocument(items('[{type: replace, path: /a, value: 1}]')), false);
    assert.equal(isJsonPatchDocument(items('[{op: add, path: /a, value: 1}, {type: remove, path: /a}]')), false);
    assert.equal(isJsonPatchDocument(items('[]')), false);
  });

  it('apply add, remove, replace, move, copy and test, leaving the input alone', () => {
    const input = doc();
    const before = clone(input);
    const op = opsFromDefinitions(
      y(`
- {op: test, path: /groups/0/name, value: api}
- {op: replace, path: /groups/0/instances, value: 3}
- {op: add, path: /groups/-, value: {name: worker, instances: 2}}
- {op: add, path: /groups/0/jobs, value: [{name: x}]}
- {op: remove, path: /groups/1}
- {op: copy, from: /tags, path: /labels}
- {op: move, from: /name, path: /deployment}
- {op: add, path: /labels/b, value: ~}
`),
      'patch.yml',
    );
    assert.deepEqual(
      op.apply(input),
      y(
        `{deployment: cf, groups: [{name: api, instances: 3, jobs: [{name: x}]}, {name: worker, instances: 2}], tags: {a: 1}, labels: {a: 1, b: ~}}`,
      ),
    );
    assert.deepEqual(input, before);
  });

  it('do not let one apply change the values of the next', () => {
    const op = opsFromDefinitions(y('[{op: add, path: /l, value: [1]}, {op: add, path: /l/-, value: 2}]'), 'p.yml');
    assert.deepEqual(op.apply(y('{}')), y('{l: [1, 2]}'));
    assert.deepEqual(op.apply(y('{}')), y('{l: [1, 2]}'));
  });

  it("name the file, the op's index and its path when applying fails", () => {
    const op = opsFromDefinitions(
      y('- {op: replace, path: /name, value: x}\n- {op: remove, path: /tags/zz}'),
      'patch.yml',
    );
    assert.equal(
      failure(() => op.apply(doc())),
      "Applying ops-file 'patch.yml': Error 'operation [1] in patch.yml failed': RFC 6902 remove at '/tags/zz': Value at zz does not exist",
    );
    const test = opsFromDefinitions(y('- {op: test, path: /name, value: other}'), 'patch.yml');
    assert.equal(
      failure(() => test.apply(doc())),
      "Applying ops-file 'patch.yml': Error 'operation [0] in patch.yml failed': RFC 6902 test at '/name': Patch test failed",
    );
  });

  it('reject malformed operations with the file and the index', () => {
    const cases: [string, string][] = [
      ['- {op: add, path: /a}', "Missing value in 'add' operation"],
      [
        '- {op: frobnicate, path: /a}',
        "Expected 'op' to be one of add, remove, replace, move, copy, test but found 'frobnicate'",
      ],
      ['- {op: move, path: /a}', "Missing from (a string) in 'move' operation"],
      ['- {op: remove}', "Missing path (a string) in 'remove' operation"],
      ['- {op: remove, path: a}', 'Invalid pointer'],
    ];
    for (const [text, message] of cases) {
      assert.equal(
        failure(() => opsFromDefinitions(y(`- {op: test, path: /a, value: 1}\n${text}`), 'p.yml')),
        `Building ops from ops-file 'p.yml': RFC 6902 operation [1]: ${message}`,
      );
    }
  });
});
