// The environment's gateway: what the manifest may say, and how the director then reaches VMs
// (the recorded gateway, bosh-cli's --gw-* flags over it, never a host key trusted on first use).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gatewayFor, gatewayJson, parseGatewayConfig } from '../../../src/env/gateway.js';
import { generateSshKeyPair } from '../../../src/crypto/ssh-keys.js';
import type { EnvironmentRecord } from '../../../src/state/index.js';

const director = generateSshKeyPair('ed25519', 'director');
const jumpboxKey = generateSshKeyPair('ed25519', 'jumpbox');

function env(gateway: EnvironmentRecord['gateway']): EnvironmentRecord {
  return {
    name: 'azure',
    directorUuid: 'u',
    cpiType: 'azure',
    cpiProperties: {},
    sshKey: director,
    hostKeyCa: null,
    gateway,
    createdAt: '',
    updatedAt: '',
  };
}

describe('environment gateway', () => {
  it("reads 'none', a named gateway, and reports every problem of a bad one with its path", () => {
    assert.equal(parseGatewayConfig(undefined, 'env.yml'), undefined);
    assert.equal(parseGatewayConfig('none', 'env.yml'), 'none');
    assert.deepEqual(
      parseGatewayConfig({ host: '203.0.113.9', user: 'jump', host_public_key: jumpboxKey.publicKey }, 'env.yml'),
      { host: '203.0.113.9', port: 22, user: 'jump', hostPublicKey: jumpboxKey.publicKey },
    );
    assert.throws(
      () => parseGatewayConfig({ host: '', port: 0, private_key: 'hunter2', hostname: 'x' }, 'env.yml'),
      (err: Error) =>
        err.message ===
        "Validating environment manifest 'env.yml': 'gateway.host' must be the gateway's address, found ''; 'gateway.port' must be a port number, found 0; 'gateway.private_key' must be a private key (PEM or OpenSSH); 'gateway.host_public_key' must be the gateway's OpenSSH host public key (its host key is checked, never trusted on first use), found undefined; 'gateway.hostname' is not a gateway setting (host, port, user, private_key, host_public_key)",
    );
    assert.throws(
      () => parseGatewayConfig('jumpbox', 'env.yml'),
      /'gateway' must be 'none' or a map \{host, user, private_key, host_public_key\}, found 'jumpbox'/,
    );
  });

  it("reaches VMs through the jumpbox create-env made, with the environment's key; 'none' and no record dial directly", () => {
    const jumpbox = gatewayJson({
      mode: 'jumpbox',
      user: 'jumpbox',
      port: 22,
      hostPrivateKey: jumpboxKey.privateKey,
      hostPublicKey: jumpboxKey.publicKey,
      host: '198.18.0.10',
    });
    assert.deepEqual(gatewayFor(env(jumpbox)), {
      host: '198.18.0.10',
      port: 22,
      username: 'jumpbox',
      privateKey: director.privateKey,
      hostPublicKey: jumpboxKey.publicKey,
    });
    assert.equal(gatewayFor(env({ mode: 'none' })), undefined);
    assert.equal(gatewayFor(env(null)), undefined);
    assert.equal(gatewayFor(env(jumpbox), { disable: true }), undefined, '--gw-disable');
    assert.deepEqual(gatewayFor(env(jumpbox), { user: 'ops', privateKey: 'KEY' }), {
      host: '198.18.0.10',
      port: 22,
      username: 'ops',
      privateKey: 'KEY',
      hostPublicKey: jumpboxKey.publicKey,
    });
  });

  it('a --gw-host whose host key the director does not know is refused, not trusted on first use', () => {
    const jumpbox = gatewayJson({
      mode: 'jumpbox',
      user: 'jumpbox',
      port: 22,
      hostPrivateKey: jumpboxKey.privateKey,
      hostPublicKey: jumpboxKey.publicKey,
      host: '198.18.0.10',
    });
    for (const e of [env(jumpbox), env(null)]) {
      assert.throws(
        () => gatewayFor(e, { host: '203.0.113.5' }),
        (err: Error) =>
          err.message ===
          "Gateway '203.0.113.5': the director knows no host key for it and trusts none on first use; name it in the environment manifest as gateway: {host, host_public_key} and run create-env",
      );
    }
    assert.deepEqual(gatewayFor(env(jumpbox), { host: '198.18.0.10' })?.hostPublicKey, jumpboxKey.publicKey);
  });
});
