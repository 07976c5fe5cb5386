import { X509Certificate, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import {
  TAG,
  bitString,
  boolean,
  explicit,
  implicit,
  nullValue,
  octetString,
  oid,
  readChildren,
  readElement,
  sequence,
  set,
  smallInteger,
  tlv,
  unsignedInteger,
  decodeOid,
} from './der.js';

/**
 * X.509 v3 certificates the way Go's crypto/x509 CreateCertificate builds them (the library
 * bosh-cli's and config-server's generators use): subject C, O, CN as separate RDNs,
 * PrintableString where the characters allow it, key usage/basic constraints critical,
 * SHA-256 with RSA. Written against DER directly so the bytes follow Go's choices.
 */

/** The key usages of RFC 5280 §4.2.1.3, by CredHub's option names, in bit order. */
export const KEY_USAGES = [
  'digital_signature',
  'non_repudiation',
  'key_encipherment',
  'data_encipherment',
  'key_agreement',
  'key_cert_sign',
  'crl_sign',
  'encipher_only',
  'decipher_only',
] as const;
export type KeyUsage = (typeof KEY_USAGES)[number];

/** Extended key usages by CredHub's option names (bosh-cli knows the first two). */
export const EXTENDED_KEY_USAGES = {
  server_auth: '1.3.6.1.5.5.7.3.1',
  client_auth: '1.3.6.1.5.5.7.3.2',
  code_signing: '1.3.6.1.5.5.7.3.3',
  email_protection: '1.3.6.1.5.5.7.3.4',
  timestamping: '1.3.6.1.5.5.7.3.8',
} as const;
export type ExtendedKeyUsage = keyof typeof EXTENDED_KEY_USAGES;

export interface DistinguishedName {
  readonly country: readonly string[];
  readonly organization: readonly string[];
  readonly commonName: string;
}

/** What goes into a certificate; everything is explicit (no defaults here). */
export interface CertificateTemplate {
  /** Big-endian magnitude of the (positive) serial number. */
  readonly serialNumber: Buffer;
  readonly subject: DistinguishedName;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly isCa: boolean;
  readonly keyUsage: readonly KeyUsage[];
  readonly extendedKeyUsage: readonly ExtendedKeyUsage[];
  readonly dnsNames: readonly string[];
  /** 4 bytes (IPv4) or 16 bytes (IPv6). */
  readonly ipAddresses: readonly Buffer[];
  readonly subjectKeyId: Buffer;
  readonly authorityKeyId: Buffer | undefined;
  readonly publicKey: KeyObject;
}

/** Who signs: the issuer's encoded subject and its RSA private key (a secret). */
export interface CertificateSigner {
  readonly subjectDer: Buffer;
  readonly privateKey: KeyObject;
}

const OID = {
  country: '2.5.4.6',
  organization: '2.5.4.10',
  commonName: '2.5.4.3',
  sha256WithRsa: '1.2.840.113549.1.1.11',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  basicConstraints: '2.5.29.19',
  subjectKeyId: '2.5.29.14',
  authorityKeyId: '2.5.29.35',
  subjectAltName: '2.5.29.17',
} as const;

// Go's asn1 PrintableString alphabet for new certificates (no '*', no '&').
const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

function directoryString(s: string): Buffer {
  return tlv(PRINTABLE.test(s) ? TAG.printableString : TAG.utf8String, Buffer.from(s, 'utf8'));
}

function rdn(type: string, values: readonly string[]): Buffer[] {
  if (values.length === 0) return [];
  return [set(...values.map((v) => sequence(oid(type), directoryString(v))))];
}

/** pkix.Name.ToRDNSequence order for the attributes used here: C, O, CN (empty ones omitted). */
export function encodeName(name: DistinguishedName): Buffer {
  return sequence(
    ...rdn(OID.country, name.country),
    ...rdn(OID.organization, name.organization),
    ...rdn(OID.commonName, name.commonName === '' ? [] : [name.commonName]),
  );
}

function encodeTime(d: Date): Buffer {
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const year = d.getUTCFullYear();
  const rest = `${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}Z`;
  if (year >= 1950 && year < 2050) return tlv(TAG.utcTime, Buffer.from(pad(year % 100) + rest, 'ascii'));
  return tlv(TAG.generalizedTime, Buffer.from(pad(year, 4) + rest, 'ascii'));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return sequence(oid(id), ...(critical ? [boolean(true)] : []), octetString(value));
}

function reverseBits(b: number): number {
  let r = 0;
  for (let i = 0; i < 8; i++) if (b & (1 << i)) r |= 1 << (7 - i);
  return r;
}

/** Go's marshalKeyUsage: bits reversed per byte, trailing zero bits counted as unused. */
function keyUsageValue(usages: readonly KeyUsage[]): Buffer {
  let ku = 0;
  for (const u of usages) ku |= 1 << KEY_USAGES.indexOf(u);
  const bytes = [reverseBits(ku & 0xff), reverseBits((ku >> 8) & 0xff)];
  const used = bytes[1] === 0 ? bytes.slice(0, 1) : bytes;
  let bitLength = used.length * 8;
  for (let i = used.length - 1; i >= 0 && bitLength > 0; i--) {
    const b = used[i]!;
    if (b === 0) {
      bitLength -= 8;
      continue;
    }
    for (let bit = 0; bit < 8 && (b & (1 << bit)) === 0; bit++) bitLength--;
    break;
  }
  return bitString(Buffer.from(used), (8 - (bitLength % 8)) % 8);
}

function extensions(t: CertificateTemplate): Buffer[] {
  const out: Buffer[] = [];
  if (t.keyUsage.length > 0) out.push(extension(OID.keyUsage, true, keyUsageValue(t.keyUsage)));
  if (t.extendedKeyUsage.length > 0) {
    out.push(extension(OID.extKeyUsage, false, sequence(...t.extendedKeyUsage.map((u) => oid(EXTENDED_KEY_USAGES[u])))));
  }
  out.push(extension(OID.basicConstraints, true, sequence(...(t.isCa ? [boolean(true)] : []))));
  if (t.subjectKeyId.length > 0) out.push(extension(OID.subjectKeyId, false, octetString(t.subjectKeyId)));
  if (t.authorityKeyId !== undefined && t.authorityKeyId.length > 0) {
    out.push(extension(OID.authorityKeyId, false, sequence(implicit(0, t.authorityKeyId))));
  }
  if (t.dnsNames.length > 0 || t.ipAddresses.length > 0) {
    for (const n of t.dnsNames) {
      // eslint-disable-next-line no-control-regex
      if (!/^[\x00-\x7f]*$/.test(n)) throw new Error(`SAN dNSName '${n}' cannot be encoded as an IA5String`);
    }
    const names = [
      ...t.dnsNames.map((n) => implicit(2, Buffer.from(n, 'ascii'))),
      ...t.ipAddresses.map((ip) => implicit(7, ip)),
    ];
    out.push(extension(OID.subjectAltName, false, sequence(...names)));
  }
  return out;
}

/**
 * The DER of a certificate for `template`, signed by `signer` (for a self-signed one, the
 * signer is the template's own subject and private key).
 */
export function createCertificate(template: CertificateTemplate, signer: CertificateSigner): Buffer {
  const algorithm = sequence(oid(OID.sha256WithRsa), nullValue());
  const spki = template.publicKey.export({ type: 'spki', format: 'der' });
  const tbs = sequence(
    explicit(0, smallInteger(2)),
    unsignedInteger(template.serialNumber),
    algorithm,
    signer.subjectDer,
    sequence(encodeTime(template.notBefore), encodeTime(template.notAfter)),
    encodeName(template.subject),
    spki,
    explicit(3, sequence(...extensions(template))),
  );
  const signature = sign('sha256', tbs, signer.privateKey);
  return sequence(tbs, algorithm, bitString(signature));
}

/** The parts of an existing certificate that issuing under it needs. */
export interface ParsedCertificate {
  readonly der: Buffer;
  /** The subject exactly as encoded (becomes the issuer of certificates it signs). */
  readonly subjectDer: Buffer;
  /** Its subject key identifier, empty when it has none. */
  readonly subjectKeyId: Buffer;
  readonly x509: X509Certificate;
}

/** Parses a DER certificate (node validates it); throws on malformed input. */
export function parseCertificate(der: Buffer): ParsedCertificate {
  const x509 = new X509Certificate(der);
  const [tbs] = readChildren(readElement(der).content);
  if (tbs === undefined) throw new Error('DER: empty certificate');
  const fields = readChildren(tbs.content);
  const base = fields[0]?.tag === 0xa0 ? 1 : 0;
  const subject = fields[base + 4];
  if (subject === undefined) throw new Error('DER: certificate has no subject');
  let subjectKeyId = Buffer.alloc(0);
  const exts = fields.find((f) => f.tag === 0xa3);
  if (exts !== undefined) {
    for (const ext of readChildren(readElement(exts.content).content)) {
      const parts = readChildren(ext.content);
      if (parts[0] !== undefined && decodeOid(parts[0].content) === OID.subjectKeyId) {
        const value = parts[parts.length - 1];
        if (value !== undefined) subjectKeyId = Buffer.from(readElement(value.content).content);
      }
    }
  }
  return { der, subjectDer: Buffer.from(subject.raw), subjectKeyId, x509 };
}
