import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeOid, octetString, oid, readChildren, readElement, sequence, smallInteger, unsignedInteger } from '../../../src/crypto/der.js';
import { pemDecode, pemEncode } from '../../../src/crypto/pem.js';

const hex = (b: Buffer) => b.toString('hex');

describe('DER', () => {
  it('encodes object identifiers (RFC 5280 examples) and decodes them back', () => {
    assert.equal(hex(oid('1.2.840.113549.1.1.11')), '06092a864886f70d01010b');
    assert.equal(hex(oid('2.5.29.15')), '0603551d0f');
    assert.equal(hex(oid('1.3.6.1.5.5.7.3.1')), '06082b06010505070301');
    for (const o of ['1.2.840.113549.1.1.11', '2.5.4.3', '1.3.6.1.4.1.311.21.20', '2.999.1']) assert.equal(decodeOid(readElement(oid(o)).content), o);
  });

  it('encodes non-negative integers minimally, with a 0x00 before a high bit', () => {
    assert.equal(hex(unsignedInteger(Buffer.from([0x00, 0x00, 0x7f]))), '02017f');
    assert.equal(hex(unsignedInteger(Buffer.from([0x80]))), '02020080');
    assert.equal(hex(unsignedInteger(Buffer.alloc(0))), '020100');
    assert.equal(hex(smallInteger(2)), '020102');
    assert.equal(hex(smallInteger(65537)), '0203010001');
  });

  it('uses long-form lengths from 128 bytes and reads them back', () => {
    const big = octetString(Buffer.alloc(300, 7));
    assert.equal(hex(big.subarray(0, 4)), '0482012c');
    const seq = sequence(big, octetString(Buffer.from('x')));
    const children = readChildren(readElement(seq).content);
    assert.equal(children.length, 2);
    assert.equal(children[0]!.content.length, 300);
    assert.equal(children[1]!.content.toString(), 'x');
    assert.throws(() => readElement(seq.subarray(0, 10)), /truncated/);
  });
});

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
    assert.deepEqual(pemDecode(`junk\n${pem}more`), { type: 'TEST', der: Buffer.alloc(100, 1) });
    assert.equal(pemDecode('no pem here'), undefined);
  });
});
