import { createHash } from 'node:crypto';
import ssh2 from 'ssh2';
import { DirectorError } from '../errors.js';

/** An SSH key pair in OpenSSH formats. `privateKey` is a secret: never log it. */
export interface SshKeyPair {
  /** `-----BEGIN OPENSSH PRIVATE KEY-----` ... (both key types). */
  readonly privateKey: string;
  /** One authorized_keys line: `ssh-ed25519 AAAA... comment`. */
  readonly publicKey: string;
  /** `SHA256:...` as `ssh-keygen -lf` prints it. */
  readonly fingerprint: string;
}

export type SshKeyType = 'ed25519' | 'rsa';

/** A parsed public key: its algorithm, wire blob and fingerprint. */
export interface SshPublicKey {
  readonly algorithm: string;
  /** The SSH wire-format public key blob (what a server compares). */
  readonly blob: Buffer;
  /** The authorized_keys line without a comment. */
  readonly line: string;
  readonly fingerprint: string;
}

/** Generates a key pair (ed25519 by default; RSA 3072 bits). */
export function generateSshKeyPair(type: SshKeyType = 'ed25519', comment = ''): SshKeyPair {
  // ssh2's ed25519 writer drops a leading zero byte about once in 256 keys, and the key then
  // does not parse (mscdex/ssh2 #1390): draw again until the pair reads back.
  for (let attempt = 0; ; attempt++) {
    const pair =
      type === 'rsa'
        ? ssh2.utils.generateKeyPairSync('rsa', { bits: 3072, comment })
        : ssh2.utils.generateKeyPairSync('ed25519', { comment });
    const parsed = ssh2.utils.parseKey(pair.private);
    if ((parsed instanceof Error || Array.isArray(parsed)) && attempt < 16) continue;
    const publicKey = pair.public.trim();
    return { privateKey: pair.private, publicKey, fingerprint: sshFingerprint(publicKey) };
  }
}

/** The OpenSSH SHA256 fingerprint (`SHA256:` + unpadded base64) of a public key line or blob. */
export function sshFingerprint(publicKey: string | Buffer): string {
  const blob = typeof publicKey === 'string' ? parsePublicKeyLine(publicKey).blob : publicKey;
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

function parsePublicKeyLine(line: string): { algorithm: string; blob: Buffer } {
  const parts = line.trim().split(/\s+/);
  const algorithm = parts[0] ?? '';
  const blob = Buffer.from(parts[1] ?? '', 'base64');
  if (!algorithm.startsWith('ssh-') && !algorithm.startsWith('ecdsa-')) {
    throw new DirectorError(
      `Parsing SSH public key: expected 'ssh-<type> <base64> [comment]', found type '${algorithm.slice(0, 40)}'`,
    );
  }
  if (
    blob.length < 4 ||
    blob.readUInt32BE(0) !== algorithm.length ||
    blob.subarray(4, 4 + algorithm.length).toString() !== algorithm
  ) {
    throw new DirectorError(`Parsing SSH public key: the key data does not match its type '${algorithm}'`);
  }
  return { algorithm, blob };
}

/** Parses an authorized_keys line, or derives the public key of a private key (OpenSSH or PEM). */
export function parseSshPublicKey(key: string): SshPublicKey {
  let blob: Buffer;
  let algorithm: string;
  if (/^-----BEGIN /.test(key.trim())) {
    const parsed = parseSshPrivateKey(key);
    blob = parsed.getPublicSSH();
    algorithm = blob.subarray(4, 4 + blob.readUInt32BE(0)).toString();
  } else {
    ({ algorithm, blob } = parsePublicKeyLine(key));
  }
  return { algorithm, blob, line: `${algorithm} ${blob.toString('base64')}`, fingerprint: sshFingerprint(blob) };
}

/** The authorized_keys line (no comment) of a private key. */
export function publicKeyOf(privateKey: string): string {
  return parseSshPublicKey(privateKey).line;
}

/**
 * Parses a private key with ssh2 (the form an ssh2 server or client uses). The error never
 * contains the key.
 */
export function parseSshPrivateKey(privateKey: string): ssh2.ParsedKey {
  const parsed = ssh2.utils.parseKey(privateKey);
  const key = Array.isArray(parsed) ? (parsed[0] as ssh2.ParsedKey | undefined) : parsed;
  if (key === undefined || key instanceof Error) {
    throw new DirectorError(`Parsing SSH private key: ${key instanceof Error ? key.message : 'no key found'}`);
  }
  if (!key.isPrivateKey()) throw new DirectorError('Parsing SSH private key: the key is a public key');
  return key;
}
