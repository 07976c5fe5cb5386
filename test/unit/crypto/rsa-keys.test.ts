import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, createPublicKey } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import ssh2 from 'ssh2';
import {
  generateRsaKeyPair,
  modulusSha1,
  publicKeyPem,
  rsaModulus,
  rsaPrivateKeyPem,
  sshAuthorizedKey,
  sshMd5Fingerprint,
} from '../../../src/crypto/rsa-keys.js';

const dir = mkdtempSync(join(tmpdir(), 'director-rsa-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('RSA keys', () => {
  it('PKCS#1 private and PKIX public PEM of a key of the asked size, exponent 65537', async () => {
    const { privateKey, publicKey } = await generateRsaKeyPair(2048);
    assert.equal(privateKey.asymmetricKeyDetails?.modulusLength, 2048);
    assert.equal(privateKey.asymmetricKeyDetails?.publicExponent, 65537n);
    assert.match(
      rsaPrivateKeyPem(privateKey),
      /^-----BEGIN RSA PRIVATE KEY-----\n([A-Za-z0-9+/=]{64}\n)+[A-Za-z0-9+/=]{1,64}\n-----END RSA PRIVATE KEY-----\n$/,
    );
    assert.match(publicKeyPem(publicKey), /^-----BEGIN PUBLIC KEY-----\n/);
    assert.equal(
      createPublicKey(rsaPrivateKeyPem(privateKey)).export({ type: 'spki', format: 'pem' }),
      publicKeyPem(publicKey),
    );
    const modulus = rsaModulus(publicKey);
    assert.equal(modulus.length, 256);
    assert.notEqual(modulus[0], 0);
    assert.deepEqual(modulusSha1(publicKey), createHash('sha1').update(modulus).digest());
  });

  it('the authorized_keys line ssh2 derives from the private key, and the MD5 fingerprint ssh-keygen prints', async () => {
    const { privateKey, publicKey } = await generateRsaKeyPair(2048);
    const parsed = ssh2.utils.parseKey(rsaPrivateKeyPem(privateKey));
    assert.ok(!(parsed instanceof Error) && !Array.isArray(parsed));
    const blob = (parsed as ssh2.ParsedKey).getPublicSSH();
    assert.equal(sshAuthorizedKey(publicKey), `ssh-rsa ${blob.toString('base64')}\n`);
    writeFileSync(join(dir, 'k.pub'), sshAuthorizedKey(publicKey));
    const printed = execFileSync('ssh-keygen', ['-l', '-E', 'md5', '-f', join(dir, 'k.pub')], { encoding: 'utf8' });
    assert.equal(printed.split(' ')[1], `MD5:${sshMd5Fingerprint(publicKey)}`);
    assert.equal(sshMd5Fingerprint(publicKey), createHash('md5').update(blob).digest('hex').match(/../g)!.join(':'));
  });
});
