import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import YAML from 'yaml';
import { parsePointer, Pointer, ReplaceOp } from '../../../../src/manifest/patch/index.js';
import { clone, ymap } from '../../../../src/manifest/value.js';
import type { YamlValue } from '../../../../src/manifest/value.js';

const y = (text: string): YamlValue => YAML.parse(text, { version: '1.1', mapAsMap: true }) as YamlValue;
const replace = (path: string, value: YamlValue, doc: YamlValue): YamlValue =>
  new ReplaceOp(parsePointer(path), value).apply(doc);
const fails = (path: string, doc: YamlValue, message: string): void => {
  assert.throws(() => replace(path, 1, doc), { name: /Error$/, message });
};

describe('ReplaceOp', () => {
  it('replaces the whole document with path ""', () => {
    assert.equal(replace('', 'b', 'a'), 'b');
    assert.deepEqual(replace('', y('{x: 1}'), y('[1]')), y('{x: 1}'));
  });

  it('treats path "/" as the map key ""', () => {
    assert.deepEqual(replace('/', 2, y('{"": 1, a: 1}')), y('{"": 2, a: 1}'));
    fails('/', y('{a: 1}'), "Expected to find a map key '' for path '/' (found map keys: 'a')");
  });

  it('copies the value, so a later change to the result does not reach the op', () => {
    const value = y('{a: b}');
    const op = new ReplaceOp(parsePointer(''), value);
    const res = op.apply('x') as Map<string, YamlValue>;
    res.set('c', 'd');
    assert.deepEqual(op.apply('x'), y('{a: b}'));
  });

  it('never mutates its input and shares the untouched parts', () => {
    const doc = y('{a: {b: [1, 2]}, other: {deep: [x]}}');
    const before = clone(doc);
    const res = replace('/a/b/0', 10, doc) as Map<string, YamlValue>;
    assert.deepEqual(doc, before);
    assert.deepEqual(res, y('{a: {b: [10, 2]}, other: {deep: [x]}}'));
    assert.equal(res.get('other'), (doc as Map<string, YamlValue>).get('other'));
  });

  describe('array index', () => {
    it('replaces items, counting negative indexes from the end', () => {
      assert.deepEqual(replace('/0', 10, [1, 2, 3]), [10, 2, 3]);
      assert.deepEqual(replace('/2', 10, [1, 2, 3]), [1, 2, 10]);
      assert.deepEqual(replace('/-1', 10, [1, 2, 3]), [1, 2, 10]);
      assert.deepEqual(replace('/-3', 10, [1, 2, 3]), [10, 2, 3]);
      assert.deepEqual(replace('/0/1', 100, [[10, 11, 12], 2, 3]), [[10, 100, 12], 2, 3]);
      assert.deepEqual(replace('/abc/1', 10, y('{abc: [1, 2, 3]}')), y('{abc: [1, 10, 3]}'));
    });

    it('moves with :prev/:next and inserts with :before/:after', () => {
      assert.deepEqual(replace('/3:prev', 10, [1, 2, 3]), [1, 2, 10]);
      assert.deepEqual(replace('/0:next/1', 100, [1, [10, 11, 12], 3]), [1, [10, 100, 12], 3]);
      assert.deepEqual(replace('/0:before', 10, [1, 2, 3]), [10, 1, 2, 3]);
      assert.deepEqual(replace('/1:before', 10, [1, 2, 3]), [1, 10, 2, 3]);
      assert.deepEqual(replace('/0:after', 10, [1, 2, 3]), [1, 10, 2, 3]);
      assert.deepEqual(replace('/-1:after', 10, [1, 2, 3]), [1, 2, 3, 10]);
      assert.deepEqual(replace('/3:prev:after', 10, [1, 2, 3]), [1, 2, 3, 10]);
      assert.deepEqual(replace('/1:prev:next:next:before', 10, [1, 2, 3]), [1, 2, 10, 3]);
    });

    it('fails on a missing index, also after modifiers and in the middle of a path', () => {
      fails('/1', [], "Expected to find array index '1' but found array of length '0' for path '/1'");
      fails('/1/1', [], "Expected to find array index '1' but found array of length '0' for path '/1'");
      fails('/-4', [1, 2, 3], "Expected to find array index '-4' but found array of length '3' for path '/-4'");
      fails('/2:next', [1, 2, 3], "Expected to find array index '3' but found array of length '3' for path '/2:next'");
      fails('/0:before', [], "Expected to find array index '0' but found array of length '0' for path '/0:before'");
    });

    it('fails on modifiers in the wrong place', () => {
      fails(
        '/0:before/a',
        [y('{a: 1}')],
        "Expected to find one of the following modifiers: 'prev', 'next', but found modifier 'patch.BeforeModifier'",
      );
      fails(
        '/0:before:after',
        [1],
        "Expected to not find any modifiers after 'before' modifier, but found modifier 'patch.AfterModifier'",
      );
      fails(
        '/0:after:prev',
        [1],
        "Expected to not find any modifiers after 'after' modifier, but found modifier 'patch.PrevModifier'",
      );
    });

    it('fails when the node is not an array', () => {
      fails('/0', y('{}'), "Expected to find an array at path '/0' but found 'map[interface {}]interface {}'");
      fails('/0/1', y('{}'), "Expected to find an array at path '/0' but found 'map[interface {}]interface {}'");
      fails('/a/0', y('{a: ~}'), "Expected to find an array at path '/a/0' but found '<nil>'");
      fails('/a/0', y('{a: 1.5}'), "Expected to find an array at path '/a/0' but found 'float64'");
    });
  });

  describe('after last index (-)', () => {
    it('appends', () => {
      assert.deepEqual(replace('/-', 10, []), [10]);
      assert.deepEqual(replace('/-', 10, [1, 2, 3]), [1, 2, 3, 10]);
      assert.deepEqual(replace('/0/-', 100, [[10, 11, 12], 2, 3]), [[10, 11, 12, 100], 2, 3]);
      assert.deepEqual(replace('/abc/-', 10, y('{abc: [1, 2, 3]}')), y('{abc: [1, 2, 3, 10]}'));
    });

    it('fails on a map, and when it is not last', () => {
      fails('/-', y('{}'), "Expected to find an array at path '/-' but found 'map[interface {}]interface {}'");
      fails(
        '/key/-',
        y('{key: {}}'),
        "Expected to find an array at path '/key/-' but found 'map[interface {}]interface {}'",
      );
      const ptr = new Pointer([
        { kind: 'root' },
        { kind: 'after-last-index' },
        { kind: 'key', key: '', optional: false },
      ]);
      assert.throws(() => new ReplaceOp(ptr, 1).apply([]), {
        message: "Expected after last index token to be last in path '/-/'",
      });
    });
  });

  describe('key=value selector', () => {
    const items = () => y('[{key: val}, {key: val2}]');

    it('replaces, moves and inserts relative to the matching item', () => {
      assert.deepEqual(replace('/key=val', 100, items()), y('[100, {key: val2}]'));
      assert.deepEqual(replace('/key=val2:prev', 100, items()), y('[100, {key: val2}]'));
      assert.deepEqual(replace('/key=val2:before', 100, items()), y('[{key: val}, 100, {key: val2}]'));
      assert.deepEqual(replace('/key=val:next:after', 100, items()), y('[{key: val}, {key: val2}, 100]'));
      assert.deepEqual(replace('/key=val', 100, y('[3, {key: val}]')), [3, 100]);
    });

    it('descends into the matching item', () => {
      const doc = y('[{key: val, items: [{nested-key: val}, {nested-key: val2}]}, {key: val2}]');
      assert.deepEqual(
        replace('/key=val/items/nested-key=val', 100, doc),
        y('[{key: val, items: [100, {nested-key: val2}]}, {key: val2}]'),
      );
      assert.deepEqual(
        replace('/name=a/count?', 3, y('[{name: a}, {name: b}]')),
        y('[{name: a, count: 3}, {name: b}]'),
      );
      // go-patch's docs/examples.md shows this adding `count`; its code (and so ours) wants `count?`
      fails(
        '/name=a/count',
        y('[{name: a}]'),
        "Expected to find a map key 'count' for path '/name=a/count' (found map keys: 'name')",
      );
    });

    it('matches string values only (name: 1 is not name=1)', () => {
      fails(
        '/name=1',
        y('[{name: 1}]'),
        "Expected to find exactly one matching array item for path '/name=1' but found 0",
      );
      assert.deepEqual(replace('/name=1', 2, y('[{name: "1"}]')), [2]);
    });

    it('fails on no match and on several matches', () => {
      fails(
        '/key=val',
        y('[{key: val2}, {key2: val}]'),
        "Expected to find exactly one matching array item for path '/key=val' but found 0",
      );
      fails(
        '/key=val',
        y('[{key: val}, {key: val}]'),
        "Expected to find exactly one matching array item for path '/key=val' but found 2",
      );
    });

    it('with ?, appends the value, or a {key: value} item to continue in, when nothing matches', () => {
      assert.deepEqual(replace('/name=val?', 1, y('[{xyz: xyz}]')), y('[{xyz: xyz}, 1]'));
      assert.deepEqual(replace('/name=val?/efg', 1, y('[{xyz: xyz}]')), y('[{xyz: xyz}, {name: val, efg: 1}]'));
      assert.deepEqual(
        replace('/name=val?/efg/name=val', 1, y('[{xyz: xyz}]')),
        y('[{xyz: xyz}, {name: val, efg: [1]}]'),
      );
      // a match is used as usual
      assert.deepEqual(replace('/name=val?/efg', 1, y('[{name: val}]')), y('[{name: val, efg: 1}]'));
      fails(
        '/name=val?',
        y('[{name: val}, {name: val}]'),
        "Expected to find exactly one matching array item for path '/name=val?' but found 2",
      );
    });

    it('fails when the node is not an array', () => {
      fails(
        '/key=val',
        y('{}'),
        "Expected to find an array at path '/key=val' but found 'map[interface {}]interface {}'",
      );
      fails(
        '/key=val/items/key=val',
        y('{}'),
        "Expected to find an array at path '/key=val' but found 'map[interface {}]interface {}'",
      );
    });
  });

  describe('map key', () => {
    it('replaces keys, also with null', () => {
      assert.deepEqual(replace('/abc', 1, y('{abc: abc, xyz: xyz}')), y('{abc: 1, xyz: xyz}'));
      assert.deepEqual(replace('/abc', null, y('{abc: abc, xyz: xyz}')), y('{abc: ~, xyz: xyz}'));
      assert.deepEqual(
        replace('/abc/efg', 1, y('{abc: {efg: efg, opr: opr}, xyz: xyz}')),
        y('{abc: {efg: 1, opr: opr}, xyz: xyz}'),
      );
    });

    it('matches string keys only, as Go does', () => {
      const doc = ymap([
        [8080, 'int key'],
        [true, 'bool key'],
      ]);
      fails('/true', doc, "Expected to find a map key 'true' for path '/true' (found map keys: '')");
      fails('/8080', doc, "Expected to find an array at path '/8080' but found 'map[interface {}]interface {}'");
      assert.deepEqual(
        replace('/true?', 1, doc),
        ymap([
          [8080, 'int key'],
          [true, 'bool key'],
          ['true', 1],
        ]),
      );
    });

    it('fails on a missing key, listing the other string keys sorted', () => {
      fails('/abc/efg', y('{xyz: xyz}'), "Expected to find a map key 'abc' for path '/abc' (found map keys: 'xyz')");
      fails(
        '/abc',
        y('{xyz: xyz, 123: xyz, other-xyz: xyz}'),
        "Expected to find a map key 'abc' for path '/abc' (found map keys: 'other-xyz', 'xyz')",
      );
      fails('/abc', y('{}'), "Expected to find a map key 'abc' for path '/abc' (found no other map keys)");
      fails(
        '/a/x',
        y('{a: {c: 1, b: 2}}'),
        "Expected to find a map key 'x' for path '/a/x' (found map keys: 'b', 'c')",
      );
    });

    it('with ?, creates the key, then maps for keys and arrays for - and key=value', () => {
      assert.deepEqual(replace('/abc/efg?', 1, y('{abc: {opr: opr}}')), y('{abc: {efg: 1, opr: opr}}'));
      assert.deepEqual(replace('/abc/opr?/efg', 1, y('{abc: {efg: {}}}')), y('{abc: {efg: {}, opr: {efg: 1}}}'));
      assert.deepEqual(replace('/abc?/efg', 1, y('{xyz: xyz}')), y('{abc: {efg: 1}, xyz: xyz}'));
      assert.deepEqual(replace('/abc?/other/efg', 1, y('{xyz: xyz}')), y('{abc: {other: {efg: 1}}, xyz: xyz}'));
      assert.deepEqual(replace('/abc?/-', 1, y('{xyz: xyz}')), y('{abc: [1], xyz: xyz}'));
      assert.deepEqual(replace('/abc?/name=x/v', 1, y('{}')), y('{abc: [{name: x, v: 1}]}'));
    });

    it('with ?, refuses to create a key for an index that cannot exist', () => {
      fails(
        '/abc?/0',
        y('{xyz: xyz}'),
        "Expected to find key, matching index or after last index token at path '/abc?/0'",
      );
    });

    it('with ?, descends into an existing null and fails there', () => {
      fails('/a?/b', y('{a: ~}'), "Expected to find a map at path '/a?/b' but found '<nil>'");
    });

    it('fails when the node is not a map', () => {
      fails('/abc', [1, 2, 3], "Expected to find a map at path '/abc' but found '[]interface {}'");
      fails('/abc/efg', [1, 2, 3], "Expected to find a map at path '/abc' but found '[]interface {}'");
      fails('/a/b', y('{a: x}'), "Expected to find a map at path '/a/b' but found 'string'");
      fails('/a/b', y('{a: 3}'), "Expected to find a map at path '/a/b' but found 'int'");
      fails('/a/b', y('{a: true}'), "Expected to find a map at path '/a/b' but found 'bool'");
      fails('/a', null, "Expected to find a map at path '/a' but found '<nil>'");
    });
  });
});
