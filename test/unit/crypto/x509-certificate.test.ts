import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate, createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { CertificateTemplate, KeyUsage } from '../../../src/crypto/certificate-template.js';
import { pemEncode } from '../../../src/crypto/pem.js';
import { createCertificate, encodeName, issuerIdentity } from '../../../src/crypto/x509-certificate.js';

const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const caKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ski = createHash('sha1').update('x').digest();
const dir = mkdtempSync(join(tmpdir(), 'director-x509-'));
after(() => rmSync(dir, { recursive: true, force: true }));

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

function selfSigned(t: CertificateTemplate): Promise<Buffer> {
  return createCertificate(t, { issuerDer: undefined, privateKey: keys.privateKey });
}

function openssl(args: string[], input: string | Buffer): string {
  return execFileSync('openssl', args, { input, encoding: 'utf8' });
}

function text(der: Buffer): string {
  return openssl(['x509', '-noout', '-text'], pemEncode('CERTIFICATE', der));
}

const hexColons = (b: Buffer) => b.toString('hex').toUpperCase().match(/../g)!.join(':');

/** The string types of a DER name's attribute values, as openssl's asn1parse names them. */
function stringTypes(nameDer: Buffer): string[] {
  return [
    ...openssl(['asn1parse', '-inform', 'DER'], nameDer).matchAll(/prim: (PRINTABLESTRING|UTF8STRING|IA5STRING)\s+:/g),
  ].map((m) => m[1]!);
}

describe('X.509 as Go crypto/x509 writes it (built with @peculiar/x509)', () => {
  it('a self-signed CA that node and openssl accept, with the fields asked for', async () => {
    const der = await selfSigned(template());
    const cert = new X509Certificate(der);
    assert.equal(cert.subject, 'C=US\nO=Cloud Foundry\nCN=test');
    assert.equal(cert.issuer, cert.subject);
    assert.equal(cert.ca, true);
    assert.equal(cert.serialNumber, 'FF01');
    assert.equal(new Date(cert.validFrom).toISOString(), '2026-01-02T03:04:05.000Z');
    assert.equal(new Date(cert.validTo).toISOString(), '2027-01-02T03:04:05.000Z');
    assert.ok(cert.verify(keys.publicKey));
    assert.ok(cert.checkPrivateKey(keys.privateKey));
    const t = text(der);
    assert.match(t, /Version: 3 \(0x2\)/);
    assert.match(t, /Signature Algorithm: sha256WithRSAEncryption/);
    assert.match(t, /X509v3 Basic Constraints: critical\n\s+CA:TRUE\n/);
    assert.match(t, new RegExp(`X509v3 Subject Key Identifier: \\n\\s+${hexColons(ski)}\\n`));
    assert.match(t, new RegExp(`X509v3 Authority Key Identifier: \\n\\s+(keyid:)?${hexColons(ski)}\\n`));
    assert.doesNotMatch(t, /Subject Alternative Name|Extended Key Usage/);
  });

  it('writes the extensions in Go order, critical flags as Go sets them', async () => {
    const der = await selfSigned(
      template({ isCa: false, keyUsage: ['digital_signature'], extendedKeyUsage: ['server_auth'], dnsNames: ['a'] }),
    );
    const names = [...text(der).matchAll(/^\s+X509v3 ([A-Za-z ]+?):( critical)? ?$/gm)]
      .filter((m) => m[1] !== 'extensions')
      .map((m) => `${m[1]}${m[2] ?? ''}`);
    assert.deepEqual(names, [
      'Key Usage critical',
      'Extended Key Usage',
      'Basic Constraints critical',
      'Subject Key Identifier',
      'Authority Key Identifier',
      'Subject Alternative Name',
    ]);
  });

  it('encodes key usage bits as Go does (reversed bits, trailing zeros unused)', async () => {
    const table: [KeyUsage[], string][] = [
      [['digital_signature'], 'Digital Signature'],
      [['key_encipherment', 'digital_signature'], 'Digital Signature, Key Encipherment'],
      [['key_cert_sign', 'crl_sign'], 'Certificate Sign, CRL Sign'],
      [['non_repudiation', 'data_encipherment', 'key_agreement'], 'Non Repudiation, Data Encipherment, Key Agreement'],
      [['key_agreement', 'encipher_only', 'decipher_only'], 'Key Agreement, Encipher Only, Decipher Only'],
    ];
    for (const [usages, printed] of table) {
      assert.match(
        text(await selfSigned(template({ keyUsage: usages }))),
        new RegExp(`X509v3 Key Usage: critical\\n\\s+${printed}\\n`),
        usages.join(),
      );
    }
    // The exact bytes of the most common value: BIT STRING, 5 unused bits, 0xa0; and of
    // decipher_only alone: two bytes, 7 unused bits.
    assert.ok(
      (await selfSigned(template({ keyUsage: ['digital_signature', 'key_encipherment'] }))).includes(
        Buffer.from('0603551d0f0101ff0404030205a0', 'hex'),
      ),
    );
    assert.ok(
      (await selfSigned(template({ keyUsage: ['decipher_only'] }))).includes(
        Buffer.from('0603551d0f0101ff04050303070080', 'hex'),
      ),
    );
    assert.doesNotMatch(text(await selfSigned(template({ keyUsage: [] }))), /Key Usage/);
  });

  it('a leaf: CA:FALSE, extended key usages, DNS and IP SANs in that order', async () => {
    const der = await selfSigned(
      template({
        isCa: false,
        keyUsage: ['digital_signature', 'key_encipherment'],
        extendedKeyUsage: ['client_auth', 'server_auth'],
        dnsNames: ['a.example', '*.b.example'],
        ipAddresses: [
          Buffer.from([10, 0, 0, 1]),
          Buffer.from('20010db8000000000000000000000001', 'hex'),
          Buffer.alloc(16),
        ],
      }),
    );
    const cert = new X509Certificate(der);
    assert.equal(cert.ca, false);
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.2', '1.3.6.1.5.5.7.3.1']);
    assert.equal(
      cert.subjectAltName,
      'DNS:a.example, DNS:*.b.example, IP Address:10.0.0.1, IP Address:2001:DB8:0:0:0:0:0:1, IP Address:0:0:0:0:0:0:0:0',
    );
    assert.match(text(der), /X509v3 Basic Constraints: critical\n\s+CA:FALSE\n/);
    // Go marshals a non-CA basic constraints as an empty SEQUENCE.
    assert.ok(der.includes(Buffer.from('0603551d130101ff04023000', 'hex')));
  });

  it('PrintableString where allowed, UTF8String for *, & and non-ASCII; one RDN per type; empty CN omitted', () => {
    const types = (commonName: string, organization = 'Cloud Foundry') =>
      stringTypes(encodeName({ country: ['US'], organization: [organization], commonName }));
    assert.deepEqual(types('system:masters'), ['PRINTABLESTRING', 'PRINTABLESTRING', 'PRINTABLESTRING']);
    assert.deepEqual(types('*.etcd.cfcr.internal'), ['PRINTABLESTRING', 'PRINTABLESTRING', 'UTF8STRING']);
    assert.deepEqual(types('x', 'A & B'), ['PRINTABLESTRING', 'UTF8STRING', 'PRINTABLESTRING']);
    assert.deepEqual(types('ünï'), ['PRINTABLESTRING', 'PRINTABLESTRING', 'UTF8STRING']);
    assert.deepEqual(types(''), ['PRINTABLESTRING', 'PRINTABLESTRING']);
    // Values are never read as RFC 2253 text: quotes, backslashes and a leading '#' stay as given.
    const odd = encodeName({ country: ['US'], organization: ['"quoted"', '#0404'], commonName: 'a\\,b' });
    const parsed = openssl(['asn1parse', '-inform', 'DER'], odd);
    assert.match(parsed, /:"quoted"\n/);
    assert.match(parsed, /:#0404\n/);
    assert.match(parsed, /:a\\,b\n/);
    // Both organizations in one SET (Go's appendRDNs).
    assert.equal([...parsed.matchAll(/cons: SET/g)].length, 3);
  });

  it('dates before 2050 as UTCTime, from 2050 on as GeneralizedTime', async () => {
    const der = await selfSigned(template({ notAfter: new Date('2051-06-07T08:09:10Z') }));
    assert.equal(new Date(new X509Certificate(der).validTo).toISOString(), '2051-06-07T08:09:10.000Z');
    const parsed = openssl(['asn1parse', '-inform', 'DER'], der);
    assert.match(parsed, /UTCTIME\s+:260102030405Z\n/);
    assert.match(parsed, /GENERALIZEDTIME\s+:20510607080910Z\n/);
  });

  it('serial numbers as positive INTEGERs (a 0x00 before a high bit)', async () => {
    const der = await selfSigned(template({ serialNumber: Buffer.from('80' + '00'.repeat(15), 'hex') }));
    assert.equal(
      openssl(['x509', '-noout', '-serial'], pemEncode('CERTIFICATE', der)),
      `serial=80${'00'.repeat(15)}\n`,
    );
    assert.ok(der.includes(Buffer.from('021100' + '80' + '00'.repeat(15), 'hex')));
  });

  it('issues under a CA: issuer = the CA subject as encoded, AKI as given, openssl verifies the chain', async () => {
    const caSki = createHash('sha1').update('ca').digest();
    const caDer = await createCertificate(
      template({
        subject: { country: ['US'], organization: ['Org'], commonName: 'the ca' },
        subjectKeyId: caSki,
        authorityKeyId: caSki,
        publicKey: caKeys.publicKey,
      }),
      { issuerDer: undefined, privateKey: caKeys.privateKey },
    );
    const issuer = issuerIdentity(caDer);
    assert.deepEqual(issuer.subjectKeyId, caSki);
    assert.deepEqual(issuer.subjectDer, encodeName({ country: ['US'], organization: ['Org'], commonName: 'the ca' }));
    const leafDer = await createCertificate(
      template({
        isCa: false,
        keyUsage: ['digital_signature', 'key_encipherment'],
        extendedKeyUsage: ['server_auth'],
        dnsNames: ['leaf.example'],
        authorityKeyId: issuer.subjectKeyId,
      }),
      { issuerDer: issuer.subjectDer, privateKey: caKeys.privateKey },
    );
    const leaf = new X509Certificate(leafDer);
    assert.equal(leaf.issuer, 'C=US\nO=Org\nCN=the ca');
    assert.ok(leaf.verify(caKeys.publicKey));
    assert.ok(leaf.checkIssued(new X509Certificate(caDer)));
    assert.match(text(leafDer), new RegExp(`Authority Key Identifier: \\n\\s+(keyid:)?${hexColons(caSki)}\\n`));
    writeFileSync(join(dir, 'ca.pem'), pemEncode('CERTIFICATE', caDer));
    writeFileSync(join(dir, 'leaf.pem'), pemEncode('CERTIFICATE', leafDer));
    assert.match(
      execFileSync('openssl', ['verify', '-CAfile', join(dir, 'ca.pem'), join(dir, 'leaf.pem')], { encoding: 'utf8' }),
      /leaf\.pem: OK/,
    );
  });

  it('reads the issuer of a CA openssl made (UTF8Strings, an email address) byte for byte', () => {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-keyout',
        join(dir, 'ossl.key'),
        '-out',
        join(dir, 'ossl.pem'),
        '-subj',
        '/C=DE/ST=Bayern/O=Ünïcode GmbH/CN=openssl ca/emailAddress=ca@example.com',
      ],
      { stdio: 'ignore' },
    );
    const caDer = execFileSync('openssl', ['x509', '-outform', 'DER', '-in', join(dir, 'ossl.pem')]);
    const issuer = issuerIdentity(caDer);
    // The subject appears verbatim in the CA's own encoding, twice: as its issuer and its subject.
    const first = caDer.indexOf(issuer.subjectDer);
    assert.ok(first > 0);
    assert.ok(caDer.indexOf(issuer.subjectDer, first + 1) > first);
    assert.equal(stringTypes(issuer.subjectDer).join(), 'PRINTABLESTRING,UTF8STRING,UTF8STRING,UTF8STRING,IA5STRING');
    const sslSki = /Subject Key Identifier: \n\s+([0-9A-F:]+)\n/.exec(text(caDer))![1]!;
    assert.equal(hexColons(issuer.subjectKeyId), sslSki);
  });

  it('issuerIdentity: no SKI is empty; malformed input throws', async () => {
    assert.deepEqual(
      issuerIdentity(await selfSigned(template({ subjectKeyId: Buffer.alloc(0), authorityKeyId: undefined })))
        .subjectKeyId,
      Buffer.alloc(0),
    );
    assert.throws(() => issuerIdentity(Buffer.from('3003020101', 'hex')));
  });

  it('refuses a non-ASCII DNS name', async () => {
    await assert.rejects(
      selfSigned(template({ isCa: false, dnsNames: ['bücher.example'] })),
      /cannot be encoded as an IA5String/,
    );
  });
});
