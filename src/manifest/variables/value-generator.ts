import type { YamlValue } from '../value.js';
import type { CertificateAuthority } from './certificate-authority.js';

/** What a generator may ask of the evaluation that runs it. */
export interface GenerationContext {
  /** The name of the variable being generated (for messages). */
  readonly name: string;
  /**
   * The certificate and key of the variable named by a certificate's `ca` option, generating it
   * first when it is a declared variable that has no value yet.
   */
  loadCertificateAuthority(caName: string): Promise<CertificateAuthority>;
  /** The clock, for certificate validity. */
  now(): Date;
  /**
   * The RSA key size of a certificate whose options give no `key_length` (undefined:
   * config-server's 3072; CredHub uses 2048).
   */
  readonly defaultKeyLength?: number | undefined;
}

/**
 * Makes a new value from a definition's (interpolated) options. Failing leaves nothing behind;
 * errors never contain generated material.
 */
export interface ValueGenerator {
  generate(options: YamlValue, ctx: GenerationContext): Promise<YamlValue>;
}
