import { createHash, generateKeyPair } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

/** An RSA key pair from node's native keygen. `privateKey` is a secret: never log it. */
export interface RsaKeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

/**
 * Generates an RSA key (public exponent 65537, as Go's rsa.GenerateKey) on libuv's thread pool,
 * so that independent keys are generated in parallel.
 */
export function generateRsaKeyPair(bits: number): Promise<RsaKeyPair> {
  return new Promise((resolve, reject) => {
    generateKeyPair('rsa', { modulusLength: bits, publicExponent: 0x10001 }, (err, publicKey, privateKey) => {
      if (err) reject(err);
      else resolve({ privateKey, publicKey });
    });
  });
}

/** `-----BEGIN RSA PRIVATE KEY-----` (PKCS#1), as x509.MarshalPKCS1PrivateKey + pem. */
export function rsaPrivateKeyPem(privateKey: KeyObject): string {
  return privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
}

/** `-----BEGIN PUBLIC KEY-----` (PKIX SubjectPublicKeyInfo). */
export function publicKeyPem(publicKey: KeyObject): string {
  return publicKey.export({ type: 'spki', format: 'pem' }).toString();
}

function jwkBytes(publicKey: KeyObject, field: 'n' | 'e'): Buffer {
  const jwk = publicKey.export({ format: 'jwk' });
  const value = jwk[field];
  if (typeof value !== 'string') throw new Error('Expected an RSA public key');
  return Buffer.from(value, 'base64url');
}

/** The modulus N, big-endian without leading zeros (Go's big.Int.Bytes()). */
export function rsaModulus(publicKey: KeyObject): Buffer {
  return jwkBytes(publicKey, 'n');
}

/** config-server's subject key id: SHA-1 of the modulus bytes. */
export function modulusSha1(publicKey: KeyObject): Buffer {
  return createHash('sha1').update(rsaModulus(publicKey)).digest();
}

function sshString(b: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}

function sshMpint(magnitude: Buffer): Buffer {
  return sshString((magnitude[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), magnitude]) : magnitude);
}

/** The SSH wire blob of an RSA public key: string "ssh-rsa", mpint e, mpint n. */
export function sshRsaPublicKeyBlob(publicKey: KeyObject): Buffer {
  return Buffer.concat([
    sshString(Buffer.from('ssh-rsa')),
    sshMpint(jwkBytes(publicKey, 'e')),
    sshMpint(rsaModulus(publicKey)),
  ]);
}

/** An authorized_keys line with its newline, as golang.org/x/crypto/ssh.MarshalAuthorizedKey. */
export function sshAuthorizedKey(publicKey: KeyObject): string {
  return `ssh-rsa ${sshRsaPublicKeyBlob(publicKey).toString('base64')}\n`;
}

/** The legacy MD5 fingerprint config-server prints: 16 lowercase hex pairs joined by ':'. */
export function sshMd5Fingerprint(publicKey: KeyObject): string {
  const hex = createHash('md5').update(sshRsaPublicKeyBlob(publicKey)).digest('hex');
  return hex.match(/../g)!.join(':');
}
