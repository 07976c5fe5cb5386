// Apart from certificate-generator.ts so that checking a length loads no crypto.

/** The RSA key sizes a certificate may ask for (config-server's `validKeyLengths`). */
export const CERTIFICATE_KEY_LENGTHS: readonly number[] = [2048, 3072, 4096];
/** config-server's key size (`DefaultKeyLength`); CredHub's is 2048. */
export const DEFAULT_CERTIFICATE_KEY_LENGTH = 3072;
