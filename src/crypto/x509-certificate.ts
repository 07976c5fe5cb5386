// tsyringe (inside @peculiar/x509) refuses to load without the Reflect metadata API: this import
// must stay first.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import type {
  CertificateSigner,
  CertificateTemplate,
  DistinguishedName,
  ExtendedKeyUsage,
  IssuerIdentity,
  KeyUsage,
} from './certificate-template.js';
import { EXTENDED_KEY_USAGES } from './certificate-template.js';

/**
 * X.509 v3 certificates built with @peculiar/x509 on node's webcrypto, shaped as Go's
 * crypto/x509 CreateCertificate shapes them for bosh-cli's and config-server's generators:
 * subject C, O, CN as separate RDNs, PrintableString where the characters allow it, key usage
 * and basic constraints critical, extensions in Go's order, SHA-256 with RSA.
 *
 * Loading the library costs a noticeable part of a CLI start-up, so this module is meant to be
 * loaded with a dynamic `import()` by the code that generates a certificate.
 */

type X509Crypto = NonNullable<Parameters<typeof x509.X509CertificateGenerator.create>[1]>;
const webCrypto = webcrypto as unknown as X509Crypto;
const RSA_SHA256 = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const;

const KEY_USAGE_FLAGS: Readonly<Record<KeyUsage, x509.KeyUsageFlags>> = {
  digital_signature: x509.KeyUsageFlags.digitalSignature,
  non_repudiation: x509.KeyUsageFlags.nonRepudiation,
  key_encipherment: x509.KeyUsageFlags.keyEncipherment,
  data_encipherment: x509.KeyUsageFlags.dataEncipherment,
  key_agreement: x509.KeyUsageFlags.keyAgreement,
  key_cert_sign: x509.KeyUsageFlags.keyCertSign,
  crl_sign: x509.KeyUsageFlags.cRLSign,
  encipher_only: x509.KeyUsageFlags.encipherOnly,
  decipher_only: x509.KeyUsageFlags.decipherOnly,
};

// Go's asn1 PrintableString alphabet for new certificates (no '*', no '&'); anything else is a
// UTF8String. Values are passed as typed objects so the library never reads them as RFC 2253
// text (quotes, escapes, '#hex').
const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

function directoryString(value: string): x509.JsonAttributeObject {
  return PRINTABLE.test(value) ? { printableString: value } : { utf8String: value };
}

/** pkix.Name.ToRDNSequence for the attributes used here: C, O, CN; one RDN per type, empty ones omitted. */
function nameOf(name: DistinguishedName): x509.Name {
  const rdns: x509.JsonAttributeAndObjectValue[] = [];
  const add = (type: string, values: readonly string[]) => {
    if (values.length > 0) rdns.push({ [type]: values.map(directoryString) });
  };
  add('C', name.country);
  add('O', name.organization);
  add('CN', name.commonName === '' ? [] : [name.commonName]);
  return new x509.Name(rdns);
}

/** The DER of a distinguished name, as it appears in a certificate's subject. */
export function encodeName(name: DistinguishedName): Buffer {
  return Buffer.from(nameOf(name).toArrayBuffer());
}

/** Go's net.IP as text the library parses back to the same bytes. */
function ipText(ip: Buffer): string {
  if (ip.length === 4) return [...ip].join('.');
  if (ip.length === 16) return Array.from({ length: 8 }, (_, i) => ip.readUInt16BE(i * 2).toString(16)).join(':');
  throw new Error(`SAN iPAddress must be 4 or 16 bytes, found ${ip.length}`);
}

function extensions(t: CertificateTemplate): x509.Extension[] {
  const out: x509.Extension[] = [];
  if (t.keyUsage.length > 0) {
    out.push(
      new x509.KeyUsagesExtension(
        t.keyUsage.reduce((flags, u) => flags | KEY_USAGE_FLAGS[u], 0),
        true,
      ),
    );
  }
  if (t.extendedKeyUsage.length > 0) {
    out.push(
      new x509.ExtendedKeyUsageExtension(
        t.extendedKeyUsage.map((u: ExtendedKeyUsage) => EXTENDED_KEY_USAGES[u]),
        false,
      ),
    );
  }
  out.push(new x509.BasicConstraintsExtension(t.isCa, undefined, true));
  if (t.subjectKeyId.length > 0)
    out.push(new x509.SubjectKeyIdentifierExtension(t.subjectKeyId.toString('hex'), false));
  if (t.authorityKeyId !== undefined && t.authorityKeyId.length > 0) {
    out.push(new x509.AuthorityKeyIdentifierExtension(t.authorityKeyId.toString('hex'), false));
  }
  if (t.dnsNames.length > 0 || t.ipAddresses.length > 0) {
    for (const n of t.dnsNames) {
      // eslint-disable-next-line no-control-regex
      if (!/^[\x00-\x7f]*$/.test(n)) throw new Error(`SAN dNSName '${n}' cannot be encoded as an IA5String`);
    }
    const names: x509.JsonGeneralNames = [
      ...t.dnsNames.map((value) => ({ type: 'dns' as const, value })),
      ...t.ipAddresses.map((ip) => ({ type: 'ip' as const, value: ipText(ip) })),
    ];
    out.push(new x509.SubjectAlternativeNameExtension(names, false));
  }
  return out;
}

/**
 * The DER of a certificate for `template`, signed by `signer` (for a self-signed one, the
 * signer has no issuer and the template's own private key).
 */
export async function createCertificate(template: CertificateTemplate, signer: CertificateSigner): Promise<Buffer> {
  const exts = extensions(template);
  // Through JWK: importing PKCS#8 costs webcrypto about as much as the signature itself.
  const signingKey = await webCrypto.subtle.importKey(
    'jwk',
    signer.privateKey.export({ format: 'jwk' }),
    RSA_SHA256,
    false,
    ['sign'],
  );
  const subject = nameOf(template.subject);
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: template.serialNumber.toString('hex'),
      subject,
      issuer: signer.issuerDer === undefined ? subject : new x509.Name(signer.issuerDer),
      notBefore: template.notBefore,
      notAfter: template.notAfter,
      publicKey: template.publicKey.export({ type: 'spki', format: 'der' }),
      signingKey,
      signingAlgorithm: RSA_SHA256,
      extensions: exts,
    },
    webCrypto,
  );
  return Buffer.from(cert.rawData);
}

/** The subject and subject key id of a DER certificate; throws on malformed input. */
export function issuerIdentity(der: Buffer): IssuerIdentity {
  const cert = new x509.X509Certificate(der);
  const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension);
  return {
    subjectDer: Buffer.from(cert.subjectName.toArrayBuffer()),
    subjectKeyId: ski === null ? Buffer.alloc(0) : Buffer.from(ski.keyId, 'hex'),
  };
}
