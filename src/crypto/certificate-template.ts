import type { KeyObject } from 'node:crypto';

/**
 * What goes into an X.509 certificate, in the vocabulary of the options that ask for it.
 * Kept apart from the X.509 library so that validating options never loads that library.
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

/** Extended key usages by CredHub's option names (bosh-cli knows the first two), with their OIDs. */
export const EXTENDED_KEY_USAGES = {
  server_auth: '1.3.6.1.5.5.7.3.1',
  client_auth: '1.3.6.1.5.5.7.3.2',
  code_signing: '1.3.6.1.5.5.7.3.3',
  email_protection: '1.3.6.1.5.5.7.3.4',
  timestamping: '1.3.6.1.5.5.7.3.8',
} as const;
export type ExtendedKeyUsage = keyof typeof EXTENDED_KEY_USAGES;

/** A subject as bosh-cli's generator fills pkix.Name: countries, organizations, common name. */
export interface DistinguishedName {
  readonly country: readonly string[];
  readonly organization: readonly string[];
  /** Omitted from the encoding when empty, as Go does. */
  readonly commonName: string;
}

/** What goes into a certificate; everything is explicit (no defaults here). */
export interface CertificateTemplate {
  /** Big-endian magnitude of the (positive, non-zero) serial number. */
  readonly serialNumber: Buffer;
  readonly subject: DistinguishedName;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly isCa: boolean;
  /** No key usage extension when empty. */
  readonly keyUsage: readonly KeyUsage[];
  /** No extended key usage extension when empty. */
  readonly extendedKeyUsage: readonly ExtendedKeyUsage[];
  /** ASCII only (IA5String). */
  readonly dnsNames: readonly string[];
  /** 4 bytes (IPv4) or 16 bytes (IPv6), as Go's net.IP. */
  readonly ipAddresses: readonly Buffer[];
  /** No subject key identifier extension when empty. */
  readonly subjectKeyId: Buffer;
  /** No authority key identifier extension when undefined or empty. */
  readonly authorityKeyId: Buffer | undefined;
  readonly publicKey: KeyObject;
}

/** Who signs: the issuer's encoded subject (undefined: self-signed) and its RSA private key (a secret). */
export interface CertificateSigner {
  readonly issuerDer: Buffer | undefined;
  readonly privateKey: KeyObject;
}

/** What issuing under an existing certificate needs of it. */
export interface IssuerIdentity {
  /** Its subject, encoded (the issuer of the certificates it signs). */
  readonly subjectDer: Buffer;
  /** Its subject key identifier, empty when it has none. */
  readonly subjectKeyId: Buffer;
}
