import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate, createHash, generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { readChildren, readElement } from '../../../src/crypto/der.js';
import { pemEncode } from '../../../src/crypto/pem.js';
import { createCertificate, encodeName, parseCertificate } from '../../../src/crypto/x509-certificate.js';
import type { CertificateTemplate, KeyUsage } from '../../../src/crypto/x509-certificate.js';

const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ski = createHash('sha1').update('x').digest();

function template(over: Partial<CertificateTemplate> = {}): CertificateTemplate {
  return {
    serialNumber: Buffer.from('00ff01', 'hex'),
    subject: { country: ['US'], organization: ['Cloud Foundry'], commonName: 'test' },
    notBefore: new Date('2026-01-02T03:04:05Z'),
    notAfter: new Date('2027-01-02T03:04:05Z'),
    isCa: true,
    keyUsage: ['key_cert_sign', 'crl_sign'],
    extendedKeyUsage: [],
    dnsNames: [],
    ipAddresses: [],
    subjectKeyId: ski,
    authorityKeyId: ski,
    publicKey: keys.publicKey,
    ...over,
  };
}

function selfSigned(t: CertificateTemplate): Buffer {
  return createCertificate(t, { subjectDer: encodeName(t.subject), privateKey: keys.privateKey });
}

function text(der: Buffer): string {
  return execFileSync('openssl', ['x509', '-noout', '-text'], { input: pemEncode('CERTIFICATE', der), encoding: 'utf8' });
}

describe('X.509 as Go crypto/x509 writes it', () => {
  it('a self-signed CA that node and openssl accept, with the fields asked for', () => {
    const der = selfSigned(template());
    const cert = new X509Certificate(der);
    assert.equal(cert.subject, 'C=US\nO=Cloud Foundry\nCN=test');
    assert.equal(cert.issuer, cert.subject);
    assert.equal(cert.ca, true);
    assert.equal(cert.serialNumber, 'FF01');
    assert.equal(new Date(cert.validFrom).toISOString(), '2026-01-02T03:04:05.000Z');
    assert.ok(cert.verify(keys.publicKey));
    assert.ok(cert.checkPrivateKey(keys.privateKey));
    const t = text(der);
    assert.match(t, /Signature Algorithm: sha256WithRSAEncryption/);
    assert.match(t, /X509v3 Basic Constraints: critical\n\s+CA:TRUE\n/);
    assert.match(t, new RegExp(`X509v3 Subject Key Identifier: \\n\\s+${ski.toString('hex').toUpperCase().match(/../g)!.join(':')}\\n`));
  });

  it('encodes key usage bits as Go does (reversed bits, trailing zeros unused)', () => {
    const table: [KeyUsage[], string][] = [
      [['digital_signature'], 'Digital Signature'],
      [['key_encipherment', 'digital_signature'], 'Digital Signature, Key Encipherment'],
      [['key_cert_sign', 'crl_sign'], 'Certificate Sign, CRL Sign'],
      [['non_repudiation', 'data_encipherment', 'key_agreement'], 'Non Repudiation, Data Encipherment, Key Agreement'],
      [['key_agreement', 'encipher_only', 'decipher_only'], 'Key Agreement, Encipher Only, Decipher Only'],
    ];
    for (const [usages, printed] of table) {
      assert.match(text(selfSigned(template({ keyUsage: usages }))), new RegExp(`X509v3 Key Usage: critical\\n\\s+${printed}\\n`), usages.join());
    }
    // The exact bytes of the most common value: BIT STRING, 5 unused bits, 0xa0.
    const der = selfSigned(template({ keyUsage: ['digital_signature', 'key_encipherment'] }));
    assert.ok(der.includes(Buffer.from('0603551d0f0101ff0404030205a0', 'hex')));
  });

  it('a leaf: CA:FALSE, extended key usages, DNS and IP SANs in that order', () => {
    const der = selfSigned(
      template({
        isCa: false,
        keyUsage: ['digital_signature', 'key_encipherment'],
        extendedKeyUsage: ['client_auth', 'server_auth'],
        dnsNames: ['a.example', '*.b.example'],
        ipAddresses: [Buffer.from([10, 0, 0, 1]), Buffer.from('20010db8000000000000000000000001', 'hex')],
      }),
    );
    const cert = new X509Certificate(der);
    assert.equal(cert.ca, false);
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.2', '1.3.6.1.5.5.7.3.1']);
    assert.equal(cert.subjectAltName, 'DNS:a.example, DNS:*.b.example, IP Address:10.0.0.1, IP Address:2001:DB8:0:0:0:0:0:1');
    assert.match(text(der), /X509v3 Basic Constraints: critical\n\s+CA:FALSE\n/);
  });

  it('PrintableString where allowed, UTF8String for *, & and non-ASCII; empty CN omitted', () => {
    const types = (commonName: string, organization = 'Cloud Foundry') => {
      const name = readElement(encodeName({ country: ['US'], organization: [organization], commonName }));
      return readChildren(name.content).map((rdn) => readChildren(readChildren(readElement(rdn.raw).content)[0]!.content)[1]!.tag);
    };
    assert.deepEqual(types('system:masters'), [0x13, 0x13, 0x13]);
    assert.deepEqual(types('*.etcd.cfcr.internal'), [0x13, 0x13, 0x0c]);
    assert.deepEqual(types('x', 'A & B'), [0x13, 0x0c, 0x13]);
    assert.deepEqual(types('ünï'), [0x13, 0x13, 0x0c]);
    assert.deepEqual(types(''), [0x13, 0x13]);
  });

  it('dates from 2050 on as GeneralizedTime', () => {
    const cert = new X509Certificate(selfSigned(template({ notAfter: new Date('2051-06-07T08:09:10Z') })));
    assert.equal(new Date(cert.validTo).toISOString(), '2051-06-07T08:09:10.000Z');
  });

  it('parseCertificate returns the encoded subject and the subject key id', () => {
    const t = template({ subject: { country: ['US'], organization: ['O'], commonName: 'parsed' } });
    const parsed = parseCertificate(selfSigned(t));
    assert.deepEqual(parsed.subjectDer, encodeName(t.subject));
    assert.deepEqual(parsed.subjectKeyId, ski);
    assert.deepEqual(parseCertificate(selfSigned(template({ subjectKeyId: Buffer.alloc(0), authorityKeyId: undefined }))).subjectKeyId, Buffer.alloc(0));
    assert.throws(() => parseCertificate(Buffer.from('3003020101', 'hex')));
  });

  it('refuses a non-ASCII DNS name', () => {
    assert.throws(() => selfSigned(template({ isCa: false, dnsNames: ['bücher.example'] })), /cannot be encoded as an IA5String/);
  });
});
