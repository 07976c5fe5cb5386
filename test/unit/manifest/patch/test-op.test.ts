import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import YAML from 'yaml';
import { FindOp, parsePointer, TestOp } from '../../../../src/manifest/patch/index.js';
import type { YamlValue } from '../../../../src/manifest/value.js';

const y = (text: string): YamlValue => YAML.parse(text, { version: '1.1', mapAsMap: true }) as YamlValue;
const testValue = (path: string, value: YamlValue, doc: YamlValue): YamlValue =>
  new TestOp(parsePointer(path), value).apply(doc);
const testAbsent = (path: string, doc: YamlValue): YamlValue => new TestOp(parsePointer(path), null, true).apply(doc);
const find = (path: string, doc: YamlValue): YamlValue => new FindOp(parsePointer(path)).apply(doc);

describe('TestOp', () => {
  describe('value', () => {
    it('returns the same document when the value matches (deeply, map order aside)', () => {
      const doc = [1, 2, 3];
      assert.equal(testValue('/0', 1, doc), doc);
      assert.deepEqual(testValue('/0', null, [null, 2]), [null, 2]);
      assert.deepEqual(
        testValue('/a', y('{y: [1, {z: 2}], x: 1}'), y('{a: {x: 1, y: [1, {z: 2}]}}')),
        y('{a: {x: 1, y: [1, {z: 2}]}}'),
      );
    });

    it('fails when the value differs', () => {
      const message = 'Found value does not match expected value';
      assert.throws(() => testValue('/0', 2, [1, 2, 3]), { message });
      assert.throws(() => testValue('/0', 2, [null]), { message });
      assert.throws(() => testValue('/a', y('{x: 1}'), y('{a: {x: 1, y: 2}}')), { message });
      assert.throws(() => testValue('/a', '1', y('{a: 1}')), { message });
    });

    it('fails like a find when the path is not there', () => {
      assert.throws(() => testValue('/a/b', 1, y('{a: {}}')), {
        message: "Expected to find a map key 'b' for path '/a/b' (found no other map keys)",
      });
    });
  });

  describe('absent', () => {
    it('passes when the last token is missing', () => {
      const doc = y('{b: 123, l: []}');
      assert.equal(testAbsent('/a', doc), doc);
      assert.equal(testAbsent('/l/0', doc), doc);
      assert.deepEqual(testAbsent('/0', []), []);
    });

    it('fails when a parent is missing', () => {
      assert.throws(() => testAbsent('/0/0', []), {
        message: "Expected to find array index '0' but found array of length '0' for path '/0'",
      });
      assert.throws(() => testAbsent('/a/b', y('{}')), {
        message: "Expected to find a map key 'a' for path '/a' (found no other map keys)",
      });
    });

    it('fails when it is there', () => {
      assert.throws(() => testAbsent('/0', [1]), { message: "Expected to not find '/0'" });
      assert.throws(() => testAbsent('/a', y('{a: 123}')), { message: "Expected to not find '/a'" });
      assert.throws(() => testAbsent('/a', y('{a: ~}')), { message: "Expected to not find '/a'" });
      // an optional key is never missing to find: it yields null
      assert.throws(() => testAbsent('/a?', y('{}')), { message: "Expected to not find '/a?'" });
    });
  });
});

describe('FindOp', () => {
  const doc = y('{releases: [{name: capi, version: 0.1}], groups: [{name: a, jobs: [j1, j2]}]}');

  it('finds values by keys, indexes and selectors', () => {
    assert.equal(find('', doc), doc);
    assert.equal(find('/releases/name=capi/version', doc), 0.1);
    assert.equal(find('/groups/0/jobs/-1', doc), 'j2');
    assert.deepEqual(find('/groups/name=a/jobs', doc), ['j1', 'j2']);
  });

  it('yields null for a missing optional key and {key: value} for a missing optional selector', () => {
    assert.equal(find('/nope?', doc), null);
    assert.equal(find('/nope?/deeper', doc), null);
    assert.deepEqual(find('/releases/name=uaa?', doc), y('{name: uaa}'));
    assert.equal(find('/releases/name=uaa?/name', doc), 'uaa');
  });

  it('fails on - and on tokens it cannot create', () => {
    assert.throws(() => find('/releases/-', doc), {
      message: "Expected not to find after last index token in path '/releases/-' (not supported in find operations)",
    });
    assert.throws(() => find('/nope?/0', doc), {
      message: "Expected to find key or matching index token at path '/nope?/0'",
    });
    assert.throws(() => find('/nope?/-', doc), {
      message: "Expected to find key or matching index token at path '/nope?/-'",
    });
    assert.throws(() => find('/releases/name=x', doc), {
      message: "Expected to find exactly one matching array item for path '/releases/name=x' but found 0",
    });
  });
});
