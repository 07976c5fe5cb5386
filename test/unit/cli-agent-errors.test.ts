import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import ssh2 from 'ssh2';
import { answerOf, processState } from '../../src/cli/actions/agent-state.js';
import { generateSshKeyPair } from '../../src/crypto/ssh-keys.js';
import { SshAgents } from '../../src/deploy/ssh-agents.js';
import { formatErrorChain } from '../../src/errors.js';

/**
 * An agent's errors name its instance, and `vms`/`instances` say why an agent is unresponsive
 * when the failure says it: against a real SSH server (ssh2, on loopback) whose host key is not
 * the one the director recorded for the VM.
 */
test("a host key mismatch names the instance and shows as 'unresponsive agent (host key mismatch)'", async (t) => {
  const served = generateSshKeyPair('ed25519', 'served');
  const recorded = generateSshKeyPair('ed25519', 'recorded');
  const server = new ssh2.Server({ hostKeys: [served.privateKey] }, (client) => {
    client.on('error', () => undefined);
    client.on('authentication', (ctx) => ctx.reject());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const director = generateSshKeyPair('ed25519', 'director');
  const agents = new SshAgents({
    privateKey: director.privateKey,
    port: (server.address() as AddressInfo).port,
    agentBundlePath: '/nonexistent',
    readBlob: () => Promise.reject(new Error('no blobs')),
  });
  t.after(() => agents.closeAll());
  const vm = { address: '127.0.0.1', hostPublicKey: recorded.publicKey, agentId: 'agent-1234' };

  const named = agents.agent({ ...vm, instance: 'worker/0b5e6a1c-2f5e-4a43-9d1e-3b7c2a9f1e20 (2)' });
  await assert.rejects(named.getState(), (err: unknown) => {
    assert.match(
      formatErrorChain(err),
      /^Host key mismatch for instance 'worker\/0b5e6a1c-2f5e-4a43-9d1e-3b7c2a9f1e20 \(2\)' \(agent agent-1234\): expected SHA256:\S+, the server presented SHA256:\S+/,
    );
    return true;
  });
  const answer = await answerOf(() => named.getState());
  assert.equal(processState(answer), 'unresponsive agent (host key mismatch)');
  assert.equal(processState({ reason: undefined }), 'unresponsive agent');
});
