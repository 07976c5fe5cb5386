import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  generateSshKeyPair,
  parseSshPrivateKey,
  parseSshPublicKey,
  publicKeyOf,
  sshFingerprint,
} from '../../../../src/crypto/ssh-keys.js';

// ssh-keygen (openssh-client, installed with the openssh-server peer) is the reference.
function sshKeygen(args: string[], files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'ssh-keys-test-'));
  try {
    for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content, { mode: 0o600 });
    return execFileSync(
      'ssh-keygen',
      args.map((a) => a.replace('@', dir + '/')),
      { encoding: 'utf8' },
    ).trim();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('ssh keys', () => {
  for (const type of ['ed25519', 'rsa'] as const) {
    it(`generates ${type} pairs that ssh-keygen reads, with its fingerprint`, () => {
      const pair = generateSshKeyPair(type, 'director@test');
      assert.match(pair.privateKey, /^-----BEGIN OPENSSH PRIVATE KEY-----\n/);
      assert.match(
        pair.publicKey,
        type === 'rsa' ? /^ssh-rsa AAAA\S+ director@test$/ : /^ssh-ed25519 AAAA\S+ director@test$/,
      );
      const listed = sshKeygen(['-lf', '@key.pub'], { 'key.pub': pair.publicKey + '\n' });
      assert.equal(listed.split(' ')[1], pair.fingerprint);
      // ssh-keygen derives the same public key from the private one
      const derived = sshKeygen(['-yf', '@key'], { key: pair.privateKey });
      assert.equal(derived.split(' ').slice(0, 2).join(' '), publicKeyOf(pair.privateKey));
      assert.equal(parseSshPublicKey(pair.privateKey).fingerprint, pair.fingerprint);
    });
  }

  it('reads a PEM private key written by ssh-keygen', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ssh-keys-test-'));
    try {
      execFileSync('ssh-keygen', ['-q', '-t', 'rsa', '-b', '2048', '-m', 'PEM', '-N', '', '-f', join(dir, 'k')]);
      const pem = execFileSync('cat', [join(dir, 'k')], { encoding: 'utf8' });
      const pub = execFileSync('cat', [join(dir, 'k.pub')], { encoding: 'utf8' });
      assert.match(pem, /BEGIN RSA PRIVATE KEY/);
      assert.equal(publicKeyOf(pem), pub.split(' ').slice(0, 2).join(' '));
      assert.equal(
        sshFingerprint(pub),
        execFileSync('ssh-keygen', ['-lf', join(dir, 'k.pub')], { encoding: 'utf8' }).split(' ')[1],
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects malformed keys without echoing them', () => {
    assert.throws(
      () => parseSshPublicKey('ssh-ed25519 AAAAB3NzaC1yc2EAAAADAQABAAABAQ'),
      /does not match its type 'ssh-ed25519'/,
    );
    assert.throws(() => parseSshPublicKey('hello world'), /expected 'ssh-<type> <base64> \[comment\]'/);
    const secret = '-----BEGIN OPENSSH PRIVATE KEY-----\nc2VjcmV0LXN0dWZm\n-----END OPENSSH PRIVATE KEY-----\n';
    assert.throws(
      () => parseSshPrivateKey(secret),
      (err: Error) => /^Parsing SSH private key: /.test(err.message) && !err.message.includes('c2VjcmV0'),
    );
    assert.throws(() => parseSshPrivateKey(generateSshKeyPair().publicKey), /Parsing SSH private key/);
  });
});
