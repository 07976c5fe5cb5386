import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pemDecode, pemEncode } from '../../../src/crypto/pem.js';

describe('PEM', () => {
  it('writes 64-character lines and a trailing newline, as Go pem.EncodeToMemory', () => {
    const pem = pemEncode('TEST', Buffer.alloc(100, 1));
    const lines = pem.split('\n');
    assert.equal(lines[0], '-----BEGIN TEST-----');
    assert.equal(lines[1]!.length, 64);
    assert.equal(lines[2]!.length, 64);
    assert.equal(lines[3]!.length, 136 - 128);
    assert.equal(lines[4], '-----END TEST-----');
    assert.equal(lines[5], '');
    assert.equal(lines.length, 6);
  });

  it('reads the first block back, skipping text around it and header lines', () => {
    const pem = pemEncode('TEST', Buffer.alloc(100, 1));
    assert.deepEqual(pemDecode(`junk\n${pem}more`), { type: 'TEST', der: Buffer.alloc(100, 1) });
    assert.deepEqual(pemDecode('-----BEGIN X-----\r\nProc-Type: 4,ENCRYPTED\r\n\r\nAAEC\r\n-----END X-----\r\n'), {
      type: 'X',
      der: Buffer.from([0, 1, 2]),
    });
    assert.equal(pemDecode('no pem here'), undefined);
    assert.equal(pemDecode('-----BEGIN A-----\nAAEC\n-----END B-----\n'), undefined);
  });
});
