import { generateRsaKeyPair, rsaPrivateKeyPem, sshAuthorizedKey, sshMd5Fingerprint } from '../../crypto/rsa-keys.js';
import type { YamlValue } from '../value.js';
import type { ValueGenerator } from './value-generator.js';

/**
 * `type: ssh` — a 2048-bit RSA key: `private_key` (PKCS#1 PEM), `public_key` (an
 * authorized_keys line `ssh-rsa AAAA...` ending in a newline) and `public_key_fingerprint`
 * (MD5, `aa:bb:...`). Like config-server, options are ignored.
 */
export const sshKeyGenerator: ValueGenerator = {
  async generate(): Promise<YamlValue> {
    const { privateKey, publicKey } = await generateRsaKeyPair(2048);
    return new Map<string, YamlValue>([
      ['private_key', rsaPrivateKeyPem(privateKey)],
      ['public_key', sshAuthorizedKey(publicKey)],
      ['public_key_fingerprint', sshMd5Fingerprint(publicKey)],
    ]);
  },
};
