import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import YAML from 'yaml';
import { parsePointer, RemoveOp } from '../../../../src/manifest/patch/index.js';
import { clone } from '../../../../src/manifest/value.js';
import type { YamlValue } from '../../../../src/manifest/value.js';

const y = (text: string): YamlValue => YAML.parse(text, { version: '1.1', mapAsMap: true }) as YamlValue;
const remove = (path: string, doc: YamlValue): YamlValue => new RemoveOp(parsePointer(path)).apply(doc);
const fails = (path: string, doc: YamlValue, message: string): void => {
  assert.throws(() => remove(path, doc), { name: /Error$/, message });
};

describe('RemoveOp', () => {
  it('cannot remove the whole document', () => {
    fails('', 'a', 'Cannot remove entire document');
  });

  it('never mutates its input', () => {
    const doc = y('{a: {b: [1, 2], c: 1}, d: [x]}');
    const before = clone(doc);
    assert.deepEqual(remove('/a/b/0', doc), y('{a: {b: [2], c: 1}, d: [x]}'));
    assert.deepEqual(remove('/a/c', doc), y('{a: {b: [1, 2]}, d: [x]}'));
    assert.deepEqual(doc, before);
  });

  describe('array index', () => {
    it('removes items, also relative and nested ones', () => {
      assert.deepEqual(remove('/0', [1, 2, 3]), [2, 3]);
      assert.deepEqual(remove('/1', [1, 2, 3]), [1, 3]);
      assert.deepEqual(remove('/-1', [1, 2, 3]), [1, 2]);
      assert.deepEqual(remove('/0', [1]), []);
      assert.deepEqual(remove('/3:prev', [1, 2, 3]), [1, 2]);
      assert.deepEqual(remove('/0/1', [[10, 11, 12], 2, 3]), [[10, 12], 2, 3]);
      assert.deepEqual(remove('/1:prev/1', [[10, 11, 12], 2, 3]), [[10, 12], 2, 3]);
      assert.deepEqual(remove('/abc/1', y('{abc: [1, 2, 3]}')), y('{abc: [1, 3]}'));
    });

    it('fails on a missing index or a map', () => {
      fails('/1', [], "Expected to find array index '1' but found array of length '0' for path '/1'");
      fails('/1/1', [], "Expected to find array index '1' but found array of length '0' for path '/1'");
      fails('/0', y('{}'), "Expected to find an array at path '/0' but found 'map[interface {}]interface {}'");
      fails('/0/1', y('{}'), "Expected to find an array at path '/0' but found 'map[interface {}]interface {}'");
    });

    it('does not take :before/:after or -', () => {
      fails(
        '/0:before',
        [1],
        "Expected to find one of the following modifiers: 'prev', 'next', but found modifier 'patch.BeforeModifier'",
      );
      fails('/-', [], "Expected to not find token 'patch.AfterLastIndexToken' at path '/-'");
      fails('/a/-', y('{a: [1]}'), "Expected to not find token 'patch.AfterLastIndexToken' at path '/a/-'");
    });
  });

  describe('key=value selector', () => {
    it('removes the matching item, relative ones and nested ones', () => {
      assert.deepEqual(remove('/key=val', y('[{key: val}, {key: val2}]')), y('[{key: val2}]'));
      assert.deepEqual(remove('/key=val', y('[{key: val}]')), []);
      assert.deepEqual(remove('/key=val:next', y('[{key: val}, {key: val2}]')), y('[{key: val}]'));
      assert.deepEqual(remove('/key=val', y('[3, {key: val}]')), [3]);
      assert.deepEqual(
        remove(
          '/key=val2:prev/items/nested-key=val',
          y('[{key: val, items: [{nested-key: val}, {nested-key: val2}]}, {key: val2}]'),
        ),
        y('[{key: val, items: [{nested-key: val2}]}, {key: val2}]'),
      );
    });

    it('fails on no match, on several matches and on a map', () => {
      fails(
        '/key=val',
        y('[{key: val2}]'),
        "Expected to find exactly one matching array item for path '/key=val' but found 0",
      );
      fails(
        '/key=val',
        y('[{key: val}, {key: val}]'),
        "Expected to find exactly one matching array item for path '/key=val' but found 2",
      );
      fails(
        '/key=val',
        y('{}'),
        "Expected to find an array at path '/key=val' but found 'map[interface {}]interface {}'",
      );
    });

    it('with ?, leaves the document as it is when nothing matches', () => {
      const doc = y('{abc: [{opr: opr}]}');
      assert.equal(remove('/abc/opr=not-opr?', doc), doc);
      assert.equal(remove('/abc/opr=not-opr?/x/y', doc), doc);
      // `?` carries over: x is optional too
      assert.equal(remove('/abc/opr=opr?/x', doc), doc);
      fails('/abc/opr=opr/x', doc, "Expected to find a map key 'x' for path '/abc/opr=opr/x' (found map keys: 'opr')");
    });
  });

  describe('map key', () => {
    it('removes keys and nested keys', () => {
      assert.deepEqual(remove('/abc', y('{abc: abc, xyz: xyz}')), y('{xyz: xyz}'));
      assert.deepEqual(remove('/abc/efg', y('{abc: {efg: efg, opr: opr}}')), y('{abc: {opr: opr}}'));
    });

    it('with ?, leaves the document as it is when the key (or a parent) is missing', () => {
      const doc = y('{abc: {efg: {}}}');
      assert.equal(remove('/abc/opr?', doc), doc);
      assert.equal(remove('/abc/opr?/efg', doc), doc);
      assert.equal(remove('/abc/opr?/name=x/y', doc), doc);
    });

    it('fails on a missing key and on a non-map', () => {
      fails('/abc/efg', y('{xyz: xyz}'), "Expected to find a map key 'abc' for path '/abc' (found map keys: 'xyz')");
      fails(
        '/abc',
        y('{xyz: xyz, 123: xyz, other-xyz: xyz}'),
        "Expected to find a map key 'abc' for path '/abc' (found map keys: 'other-xyz', 'xyz')",
      );
      fails('/abc', y('{}'), "Expected to find a map key 'abc' for path '/abc' (found no other map keys)");
      fails('/abc', [1, 2, 3], "Expected to find a map at path '/abc' but found '[]interface {}'");
      fails('/abc/efg', [1, 2, 3], "Expected to find a map at path '/abc' but found '[]interface {}'");
    });
  });
});
