import { generateRsaKeyPair, publicKeyPem, rsaPrivateKeyPem } from '../../crypto/rsa-keys.js';
import type { YamlValue } from '../value.js';
import type { ValueGenerator } from './value-generator.js';

/**
 * `type: rsa` — a 2048-bit key: `private_key` (PKCS#1 `RSA PRIVATE KEY`) and `public_key`
 * (PKIX `PUBLIC KEY`). Like config-server, options are ignored.
 */
export const rsaKeyGenerator: ValueGenerator = {
  async generate(): Promise<YamlValue> {
    const { privateKey, publicKey } = await generateRsaKeyPair(2048);
    return new Map<string, YamlValue>([
      ['private_key', rsaPrivateKeyPem(privateKey)],
      ['public_key', publicKeyPem(publicKey)],
    ]);
  },
};
