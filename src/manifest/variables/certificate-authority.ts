import { X509Certificate, createPrivateKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { pemDecode } from '../../crypto/pem.js';
import { DirectorError } from '../../errors.js';
import { goTypeName, isMap } from '../value.js';
import type { YamlValue } from '../value.js';

/** A certificate that signs others, with its private key (a secret). */
export interface CertificateAuthority {
  /** Parsed by node (cheap); the X.509 library reads it only when a certificate is issued under it. */
  readonly certificate: X509Certificate;
  readonly privateKey: KeyObject;
}

/**
 * bosh-cli's VarsCertLoader: reads `certificate` and `private_key` (PEM) from a variable's
 * value. bosh-cli accepts only a PKCS#1 RSA key; any RSA private key PEM is accepted here.
 * Errors never contain the key.
 */
export function parseCertificateAuthority(name: string, value: YamlValue): CertificateAuthority {
  if (!isMap(value)) {
    throw new DirectorError(
      `Expected variable '${name}' to be deserializable: expected a map with 'certificate' and 'private_key', found '${goTypeName(value)}'`,
    );
  }
  const cert = value.get('certificate');
  const key = value.get('private_key');
  const certBlock = typeof cert === 'string' ? pemDecode(cert) : undefined;
  if (certBlock === undefined) throw new DirectorError('Certificate did not contain PEM formatted block');
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(certBlock.der);
  } catch (err) {
    throw new DirectorError('Parsing certificate', { cause: err });
  }
  const keyBlock = typeof key === 'string' ? pemDecode(key) : undefined;
  if (keyBlock === undefined || typeof key !== 'string')
    throw new DirectorError('Private key did not contain PEM formatted block');
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw new DirectorError('Parsing private key: the PEM block is not a valid private key');
  }
  if (privateKey.asymmetricKeyType !== 'rsa') {
    throw new DirectorError(
      `Parsing private key: expected an RSA key, found '${privateKey.asymmetricKeyType ?? 'unknown'}'`,
    );
  }
  return { certificate, privateKey };
}
