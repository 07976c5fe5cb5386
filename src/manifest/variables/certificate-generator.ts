import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { EXTENDED_KEY_USAGES, KEY_USAGES } from '../../crypto/certificate-template.js';
import type {
  CertificateSigner,
  CertificateTemplate,
  ExtendedKeyUsage,
  KeyUsage,
} from '../../crypto/certificate-template.js';
import { pemEncode } from '../../crypto/pem.js';
import type * as X509Certificates from '../../crypto/x509-certificate.js';
import { generateRsaKeyPair, modulusSha1, rsaPrivateKeyPem } from '../../crypto/rsa-keys.js';
import { DirectorError } from '../../errors.js';
import type { YamlValue } from '../value.js';
import type { CertificateAuthority } from './certificate-authority.js';
import { GeneratorParams } from './generator-params.js';
import { CERTIFICATE_KEY_LENGTHS, DEFAULT_CERTIFICATE_KEY_LENGTH } from './key-lengths.js';
import type { GenerationContext, ValueGenerator } from './value-generator.js';

/** config-server's parameters, then CredHub's `key_usage` and `key_length`. */
const SUPPORTED = [
  'common_name',
  'organization',
  'alternative_names',
  'is_ca',
  'ca',
  'extended_key_usage',
  'duration',
  'key_usage',
  'key_length',
];
export { CERTIFICATE_KEY_LENGTHS, DEFAULT_CERTIFICATE_KEY_LENGTH };
const DAY_MS = 24 * 60 * 60 * 1000;

/** Go's net.ParseIP as the bytes x509 writes: 4 for IPv4 (also `::ffff:a.b.c.d`), else 16. */
export function ipAddressBytes(s: string): Buffer | undefined {
  const kind = isIP(s);
  if (kind === 4) return Buffer.from(s.split('.').map((p) => Number.parseInt(p, 10)));
  if (kind !== 6 || s.includes('%')) return undefined;
  let text = s;
  let tail: number[] = [];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4 !== null) {
    tail = v4[1]!.split('.').map((p) => Number.parseInt(p, 10));
    text = text.slice(0, -v4[1]!.length) + '0:0';
  }
  const [head = '', rest] = text.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = rest === undefined || rest === '' ? [] : rest.split(':');
  const groups =
    rest === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  const bytes = Buffer.alloc(16);
  groups.forEach((g, i) => bytes.writeUInt16BE(Number.parseInt(g, 16), i * 2));
  if (tail.length === 4) Buffer.from(tail).copy(bytes, 12);
  const mapped = bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  return mapped ? Buffer.from(bytes.subarray(12)) : bytes;
}

interface CertParams {
  readonly commonName: string;
  readonly organization: string;
  readonly alternativeNames: readonly string[];
  readonly isCa: boolean;
  readonly caName: string;
  readonly extendedKeyUsage: readonly ExtendedKeyUsage[];
  readonly keyUsage: readonly KeyUsage[] | undefined;
  readonly durationDays: number;
  readonly keyLength: number;
}

function readParams(options: YamlValue, defaultKeyLength: number): CertParams {
  let params: GeneratorParams;
  let raw: Omit<CertParams, 'extendedKeyUsage' | 'keyUsage'> & { eku: string[]; ku: string[] | undefined };
  try {
    params = new GeneratorParams(options, SUPPORTED);
    raw = {
      commonName: params.string('common_name'),
      organization: params.string('organization'),
      alternativeNames: params.strings('alternative_names'),
      isCa: params.boolean('is_ca'),
      caName: params.string('ca'),
      eku: params.strings('extended_key_usage'),
      ku: params.has('key_usage') ? params.strings('key_usage') : undefined,
      durationDays: params.integer('duration'),
      keyLength: params.has('key_length') ? params.integer('key_length') : defaultKeyLength,
    };
  } catch (err) {
    throw new DirectorError('Failed to generate certificate, parameters are invalid', { cause: err });
  }
  if (!raw.isCa && raw.caName === '') throw new DirectorError('Missing required CA name');
  if (!CERTIFICATE_KEY_LENGTHS.includes(raw.keyLength)) {
    throw new DirectorError(
      `Unsupported key length: ${raw.keyLength} (expected one of ${CERTIFICATE_KEY_LENGTHS.join(', ')})`,
    );
  }
  const extendedKeyUsage = raw.eku.map((u) => {
    if (!Object.hasOwn(EXTENDED_KEY_USAGES, u)) throw new DirectorError(`Unsupported extended key usage value: ${u}`);
    return u as ExtendedKeyUsage;
  });
  const keyUsage = raw.ku?.map((u) => {
    if (!(KEY_USAGES as readonly string[]).includes(u)) throw new DirectorError(`Unsupported key usage value: ${u}`);
    return u as KeyUsage;
  });
  const { eku: _eku, ku: _ku, ...rest } = raw;
  return { ...rest, extendedKeyUsage, keyUsage };
}

/** A random serial below 2^128 (Go: rand.Int(rand.Reader, 1<<128)), never zero. */
function serialNumber(): Buffer {
  for (;;) {
    const bytes = randomBytes(16);
    if (bytes.some((b) => b !== 0)) return bytes;
  }
}

/** The X.509 library, loaded on the first certificate only (it is a large part of a CLI start-up). */
async function loadX509(): Promise<typeof X509Certificates> {
  try {
    return await import('../../crypto/x509-certificate.js');
  } catch (err) {
    throw new DirectorError('Loading the X.509 library', { cause: err });
  }
}

/**
 * `type: certificate`, as config-server's CertificateGenerator: an RSA key (3072 bits, the
 * context's `defaultKeyLength`, or CredHub's `key_length`), subject `C=US, O=<organization or
 * "Cloud Foundry">, CN=<common_name>`, valid from now for `duration` days (365), subject key id =
 * SHA-1 of the modulus, authority key id = the signer's. A CA (`is_ca`) gets key usage cert sign +
 * CRL sign, is self-signed unless `ca` names its signer, and (like bosh-cli) takes no SANs or
 * extended key usage. A leaf needs `ca`; it gets key usage key encipherment + digital signature
 * (or CredHub's `key_usage`), extended key usage from `extended_key_usage` (server_auth when
 * empty), and SANs from `alternative_names` (IP addresses as IP SANs, everything else as DNS
 * names). The value is `{ca, certificate, private_key}`, where `ca` is the signer's certificate.
 */
export const certificateGenerator: ValueGenerator = {
  async generate(options: YamlValue, ctx: GenerationContext): Promise<YamlValue> {
    const p = readParams(options, ctx.defaultKeyLength ?? DEFAULT_CERTIFICATE_KEY_LENGTH);
    const loadCa = async (): Promise<CertificateAuthority | undefined> => {
      if (p.caName === '') return undefined;
      try {
        return await ctx.loadCertificateAuthority(p.caName);
      } catch (err) {
        throw new DirectorError('Loading certificates', { cause: err });
      }
    };
    // The key (on libuv's pool), the CA (possibly generated first) and the library, concurrently.
    const [keys, ca, x509] = await Promise.all([generateRsaKeyPair(p.keyLength), loadCa(), loadX509()]);

    const now = ctx.now();
    const notBefore = new Date(Math.floor(now.getTime() / 1000) * 1000);
    const days = p.durationDays > 0 ? p.durationDays : 365;
    const subject = {
      country: ['US'],
      organization: [p.organization === '' ? 'Cloud Foundry' : p.organization],
      commonName: p.commonName,
    };
    const subjectKeyId = modulusSha1(keys.publicKey);
    let signer: CertificateSigner;
    let authorityKeyId: Buffer;
    if (ca === undefined) {
      signer = { issuerDer: undefined, privateKey: keys.privateKey };
      authorityKeyId = subjectKeyId;
    } else {
      let issuer;
      try {
        issuer = x509.issuerIdentity(ca.certificate.raw);
      } catch (err) {
        throw new DirectorError('Loading certificates', {
          cause: new DirectorError('Parsing certificate', { cause: err }),
        });
      }
      signer = { issuerDer: issuer.subjectDer, privateKey: ca.privateKey };
      authorityKeyId = issuer.subjectKeyId;
    }

    const dnsNames: string[] = [];
    const ipAddresses: Buffer[] = [];
    if (!p.isCa) {
      for (const name of p.alternativeNames) {
        const ip = ipAddressBytes(name);
        if (ip === undefined) dnsNames.push(name);
        else ipAddresses.push(ip);
      }
    }
    const keyUsage: KeyUsage[] = p.isCa
      ? [...new Set<KeyUsage>(['key_cert_sign', 'crl_sign', ...(p.keyUsage ?? [])])]
      : [...(p.keyUsage ?? ['key_encipherment', 'digital_signature'])];
    const template: CertificateTemplate = {
      serialNumber: serialNumber(),
      subject,
      notBefore,
      notAfter: new Date(notBefore.getTime() + days * DAY_MS),
      isCa: p.isCa,
      keyUsage,
      extendedKeyUsage: p.isCa ? [] : p.extendedKeyUsage.length > 0 ? p.extendedKeyUsage : ['server_auth'],
      dnsNames,
      ipAddresses,
      subjectKeyId,
      authorityKeyId,
      publicKey: keys.publicKey,
    };
    let der: Buffer;
    try {
      der = await x509.createCertificate(template, signer);
    } catch (err) {
      throw new DirectorError(p.isCa ? 'Generating CA certificate' : 'Generating certificate', { cause: err });
    }
    const certificate = pemEncode('CERTIFICATE', der);
    return new Map<string, YamlValue>([
      ['ca', ca === undefined ? certificate : pemEncode('CERTIFICATE', ca.certificate.raw)],
      ['certificate', certificate],
      ['private_key', rsaPrivateKeyPem(keys.privateKey)],
    ]);
  },
};
