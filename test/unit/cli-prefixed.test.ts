import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { prefixedLines } from '../../src/cli/prefixed.js';

test('prefixed lines: each line behind its prefix, across chunk boundaries, the last one on end', async () => {
  const target = new PassThrough();
  let text = '';
  target.on('data', (c: Buffer) => (text += c.toString()));
  const s = prefixedLines(target, 'w/1 (0): stdout | ');
  s.write('one\ntw');
  s.write('o\nthree');
  await new Promise<void>((r) => s.end(r));
  assert.equal(text, 'w/1 (0): stdout | one\nw/1 (0): stdout | two\nw/1 (0): stdout | three\n');
});
