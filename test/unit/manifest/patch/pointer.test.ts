import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parsePointer, Pointer, PatchError } from '../../../../src/manifest/patch/index.js';
import type { Token } from '../../../../src/manifest/patch/index.js';

const root: Token = { kind: 'root' };
const key = (k: string, optional = false): Token => ({ kind: 'key', key: k, optional });
const index = (i: number, ...modifiers: ('prev' | 'next' | 'before' | 'after')[]): Token => ({
  kind: 'index',
  index: i,
  modifiers,
});
const match = (
  k: string,
  v: string,
  optional = false,
  ...modifiers: ('prev' | 'next' | 'before' | 'after')[]
): Token => ({
  kind: 'matching-index',
  key: k,
  value: v,
  optional,
  modifiers,
});
const last: Token = { kind: 'after-last-index' };

// Each string parses to these tokens and these tokens print back as the same string.
const roundTrips: [string, Token[]][] = [
  ['', [root]],
  ['/', [root, key('')]],
  ['//', [root, key(''), key('')]],
  ['/ ', [root, key(' ')]],
  ['/key', [root, key('key')]],
  ['/key/', [root, key('key'), key('')]],
  ['/key?/key2/key3', [root, key('key', true), key('key2', true), key('key3', true)]],
  ['/0', [root, index(0)]],
  ['/1000001', [root, index(1000001)]],
  ['/-2', [root, index(-2)]],
  ['/-', [root, last]],
  ['/ary/-', [root, key('ary'), last]],
  ['/-/key', [root, key('-'), key('key')]],
  ['/0:before', [root, index(0, 'before')]],
  ['/-1:prev:before', [root, index(-1, 'prev', 'before')]],
  ['/name=val', [root, match('name', 'val')]],
  ['/name=val?', [root, match('name', 'val', true)]],
  ['/name=val?/name2=val', [root, match('name', 'val', true), match('name2', 'val', true)]],
  ['/=', [root, match('', '')]],
  ['/=?', [root, match('', '', true)]],
  ['/==', [root, match('', '=')]],
  ['/name=val:after', [root, match('name', 'val', false, 'after')]],
  ['/key?/name=val', [root, key('key', true), match('name', 'val', true)]],
  ['/name=val?/key', [root, match('name', 'val', true), key('key', true)]],
  ['/m~0n', [root, key('m~n')]],
  ['/a~01b', [root, key('a~1b')]],
  ['/a~1b', [root, key('a/b')]],
  ['/m~7n', [root, key('m:n')]],
  ['/name~0n=val~0n', [root, match('name~n', 'val~n')]],
  ['/c%d/e^f/g|h/i\\j/k"l', [root, key('c%d'), key('e^f'), key('g|h'), key('i\\j'), key('k"l')]],
];

describe('parsePointer', () => {
  for (const [str, tokens] of roundTrips) {
    it(`parses '${str}' and prints it back`, () => {
      const ptr = parsePointer(str);
      assert.deepEqual(ptr.tokens, tokens);
      assert.equal(ptr.toString(), str);
      assert.equal(new Pointer(tokens).toString(), str);
    });
  }

  it('carries `?` over to the tokens on its right but prints it once', () => {
    const ptr = parsePointer('/a/b?/c?/d');
    assert.deepEqual(ptr.tokens, [root, key('a'), key('b', true), key('c', true), key('d', true)]);
    assert.equal(ptr.toString(), '/a/b?/c/d');
  });

  it('reads `-` as a key unless it is the last token, and `1?` as the optional key "1"', () => {
    assert.deepEqual(parsePointer('/-/-').tokens, [root, key('-'), last]);
    assert.deepEqual(parsePointer('/1?').tokens, [root, key('1', true)]);
  });

  it('parses indexes the way strconv.Atoi does', () => {
    assert.deepEqual(parsePointer('/+3/007/-0').tokens, [root, index(3), index(7), index(0)]);
    assert.deepEqual(parsePointer('/99999999999999999999').tokens, [root, key('99999999999999999999')]);
  });

  const failures: [string, string][] = [
    ['abc', "Expected to start with '/'"],
    [
      '/abc:unknown',
      "Expected to find one of the following modifiers: 'prev', 'next', 'before', or 'after' but found 'unknown'",
    ],
    // go-patch names the first modifier, not the unknown one
    [
      '/0:prev:bogus',
      "Expected to find one of the following modifiers: 'prev', 'next', 'before', or 'after' but found 'prev'",
    ],
    ['/-:prev', 'Expected not to find any modifiers with after last index token'],
    ['/key:prev', 'Expected not to find any modifiers with key token'],
    ['/-:after/x', 'Expected not to find any modifiers with key token'],
  ];
  for (const [str, message] of failures) {
    it(`rejects '${str}'`, () => {
      assert.throws(
        () => parsePointer(str),
        (err: unknown) => err instanceof PatchError && err.message === message,
      );
    });
  }

  it('refuses a token list that does not start at the root', () => {
    assert.throws(() => new Pointer([]), { message: 'Expected at least one token' });
    assert.throws(() => new Pointer([key('a')]), { message: 'Expected first token to be root' });
  });
});
