// The Azure CPI authenticating with a managed identity (and through DefaultAzureCredential's
// chain), against the fake ARM's managed identity endpoints. @azure/identity (MSAL Node) picks
// its identity source from the environment once per process and keeps its token cache in
// module state, so this process uses one source (App Service: IDENTITY_ENDPOINT +
// IDENTITY_HEADER, set here and restored after) and one fake; the IMDS protocol and a wrong
// IDENTITY_HEADER each run in a child process started with their own environment.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { AzureCpi } from '../../cpi/azure/azure-cpi.js';
import { buildAzureClients } from '../../cpi/azure/clients.js';
import { parseAzureCpiConfig } from '../../cpi/azure/config.js';
import { ensureFoundation, parseFoundationProps } from '../../cpi/azure/foundation.js';
import { CpiError } from '../../cpi/cpi-error.js';
import type { Networks } from '../../cpi/contract.js';
import { generateSshKeyPair, publicKeyOf } from '../../src/crypto/ssh-keys.js';
import { startFakeArm } from '../fakes/arm/fake-arm.js';
import type { FakeArm } from '../fakes/arm/fake-arm.js';

const RG = 'mi-rg';
const MISSING_VM = `agent_id:no-such-agent;resource_group_name:${RG}`;
const LIGHT = {
  name: 'bosh-azure-hyperv-ubuntu-jammy-go_agent',
  version: '1.1',
  image: { publisher: 'Canonical', offer: '0001-com-ubuntu-server-jammy', sku: '22_04-lts-gen2', version: 'latest' },
};

/** What a child is told: where the fake is (never a secret but the CA, which is public). */
interface ChildBrief {
  readonly endpoint: string;
  readonly caPem: string;
  readonly subscriptionId: string;
  /** Each entry one CPI: `true` system-assigned, a string the user-assigned client id, null the default chain. */
  readonly identities: readonly (true | string | null)[];
}

/** One CPI's answer in a child: hasVm's result, or the error it threw. */
type ChildResult =
  | { readonly ok: boolean }
  | { readonly error: { readonly name: string; readonly kind?: string; readonly message: string } };

/** CPI properties for the fake with the given credential choice (no client secret anywhere). */
function properties(
  brief: Pick<ChildBrief, 'endpoint' | 'caPem' | 'subscriptionId'>,
  identity: true | string | null,
): Record<string, unknown> {
  return {
    location: 'westeurope',
    subscription_id: brief.subscriptionId,
    resource_group_name: RG,
    resource_manager_endpoint: brief.endpoint,
    authority_host: brief.endpoint,
    ca_cert: brief.caPem,
    ...(identity === null ? {} : { managed_identity: identity === true ? true : { client_id: identity } }),
  };
}

function cpiFor(props: Record<string, unknown>): AzureCpi {
  const config = parseAzureCpiConfig(props);
  const clients = buildAzureClients(config, { retry: { maxRetries: 1, retryDelayInMs: 10, maxRetryDelayInMs: 20 } });
  return new AzureCpi(config, { clients, pollIntervalMs: 5, asyncRetries: 0 });
}

async function settle(p: Promise<boolean>): Promise<ChildResult> {
  try {
    return { ok: await p };
  } catch (err) {
    const e = err as Error & { kind?: string };
    return { error: { name: e.name, ...(err instanceof CpiError ? { kind: err.kind } : {}), message: e.message } };
  }
}

async function runChild(): Promise<void> {
  const brief = JSON.parse(process.env['MI_CHILD_BRIEF'] ?? '{}') as ChildBrief;
  const results: ChildResult[] = [];
  for (const identity of brief.identities)
    results.push(await settle(cpiFor(properties(brief, identity)).hasVm(MISSING_VM)));
  process.stdout.write(`${JSON.stringify(results)}\n`);
}

/** Runs this file as a child with `env` over a copy of this process's environment. */
function child(
  fake: FakeArm,
  env: Record<string, string | undefined>,
  identities: ChildBrief['identities'],
): Promise<ChildResult[]> {
  const full: NodeJS.ProcessEnv = {
    ...process.env,
    ...env,
    MI_CHILD_BRIEF: JSON.stringify({
      endpoint: fake.endpoint,
      caPem: fake.caPem,
      subscriptionId: fake.subscriptionId,
      identities,
    }),
  };
  delete full['NODE_TEST_CONTEXT'];
  for (const [k, v] of Object.entries(full)) if (v === undefined) delete full[k];
  const args = [...process.execArgv.filter((a) => !a.startsWith('--test')), fileURLToPath(import.meta.url), '--child'];
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, args, { env: full, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
    proc.on('error', reject);
    proc.on('exit', (code) => {
      if (code !== 0) reject(new Error(`child exited ${code}: ${err}`));
      else resolve(JSON.parse(out.trim().split('\n').pop() ?? '[]') as ChildResult[]);
    });
  });
}

/** A host key ssh2 reads back (its ed25519 keygen now and then drops a leading zero byte). */
function hostKey(): ReturnType<typeof generateSshKeyPair> {
  for (;;) {
    const pair = generateSshKeyPair();
    try {
      publicKeyOf(pair.privateKey);
      return pair;
    } catch {
      // draw again
    }
  }
}

/** The principals (token `oid`s) of the ARM requests logged since `from`. */
function callersSince(fake: FakeArm, from: number): Set<string | undefined> {
  return new Set(
    fake.requestLog
      .entries()
      .slice(from)
      .filter((e) => e.resourceType !== 'auth' && e.resourceType !== 'admin' && e.resourceType !== 'managedIdentity')
      .map((e) => e.caller),
  );
}

if (process.argv.includes('--child')) {
  await runChild();
} else {
  describe('Azure CPI with a managed identity (fake ARM)', () => {
    let fake: FakeArm;
    let saved: Record<string, string | undefined>;

    before(async () => {
      fake = await startFakeArm({ managedIdentity: { systemAssigned: true, userAssigned: 2 } });
      const env = fake.managedIdentity.environment('app_service');
      saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
      for (const [k, v] of Object.entries(env)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    });
    after(async () => {
      for (const [k, v] of Object.entries(saved ?? {})) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      await fake?.stop();
    });

    it('system-assigned (App Service endpoint): builds a foundation, creates and deletes a VM, every ARM call made as that identity', async () => {
      const from = fake.requestLog.entries().length;
      const props = {
        ...properties(fake, true),
        default_security_group: 'nsg-bosh',
        foundation: {
          virtual_network_name: 'vnet',
          subnet_name: 'bosh',
          internal_cidr: '10.0.0.0/24',
          security_groups: [
            { name: 'nsg-bosh', rules: [{ name: 'ssh', port: 22, source: '10.0.0.0/24', priority: 200 }] },
          ],
        },
      };
      const config = parseAzureCpiConfig(props);
      assert.deepEqual(config.credential, { kind: 'managed_identity' });
      const clients = buildAzureClients(config, {
        retry: { maxRetries: 1, retryDelayInMs: 10, maxRetryDelayInMs: 20 },
      });
      await ensureFoundation(clients, parseFoundationProps(props), { pollIntervalMs: 5 });
      const cpi = new AzureCpi(config, { clients, pollIntervalMs: 5, asyncRetries: 0 });
      const stemcell = await cpi.createStemcell('', LIGHT);
      const networks: Networks = {
        default: {
          type: 'manual',
          ip: '10.0.0.10',
          netmask: '255.255.255.0',
          gateway: '10.0.0.1',
          default: ['dns', 'gateway'],
          cloud_properties: { virtual_network_name: 'vnet', subnet_name: 'bosh' },
        },
      };
      const env = {
        director: {
          uuid: 'dir-uuid',
          deployment: 'mi',
          instance: { group: 'm', index: 0, id: 'inst-1' },
          agentId: 'agent-mi',
        },
        ssh: {
          hostPrivateKey: hostKey().privateKey,
          authorizedKeys: [generateSshKeyPair('ed25519', 'director').publicKey],
        },
      };
      const { vmCid } = await cpi.createVm('agent-mi', stemcell, { instance_type: 'Standard_B1ms' }, networks, [], env);
      assert.equal(await cpi.hasVm(vmCid), true);
      await cpi.deleteVm(vmCid);
      assert.equal(await cpi.hasVm(vmCid), false);

      const log = fake.requestLog.entries().slice(from);
      assert.ok(
        log.some((e) => e.method === 'PUT' && e.resourceType === 'Microsoft.Compute/virtualMachines' && e.status < 300),
      );
      assert.ok(
        log.some(
          (e) => e.method === 'DELETE' && e.resourceType === 'Microsoft.Compute/virtualMachines' && e.status < 300,
        ),
      );
      assert.deepEqual(callersSince(fake, from), new Set([fake.managedIdentity.systemAssigned!.principalId]));
      assert.equal(
        log.filter((e) => e.resourceType === 'auth').length,
        0,
        'no client-credentials request to the authority',
      );
      // one token for ARM, reused from MSAL's cache for every call after the first
      assert.deepEqual(
        log.filter((e) => e.resourceType === 'managedIdentity').map((e) => [e.path, e.apiVersion, e.status]),
        [['/msi/token', '2019-08-01', 200]],
      );
    });

    it('user-assigned by client id: reads as that identity', async () => {
      const [one, two] = fake.managedIdentity.userAssigned;
      for (const identity of [one!, two!]) {
        const from = fake.requestLog.entries().length;
        assert.equal(await cpiFor(properties(fake, identity.clientId)).hasVm(MISSING_VM), false);
        assert.deepEqual(callersSince(fake, from), new Set([identity.principalId]));
      }
    });

    it('a client id the host does not have: the endpoint refuses and the CPI says so', async () => {
      const err = await cpiFor(properties(fake, '00000000-0000-0000-0000-00000000beef'))
        .hasVm(MISSING_VM)
        .then(
          () => assert.fail('expected a CpiError'),
          (e: unknown) => e,
        );
      assert.ok(err instanceof CpiError, String(err));
      assert.equal(err.kind, 'Unknown');
      assert.equal(err.okToRetry, false);
      assert.match(
        err.message,
        /^CPI 'has_vm' responded with Unknown error: ManagedIdentityCredential: Authentication failed\. .*Unable to load the proper Managed Identity\./,
      );
      assert.ok(
        !err.message.includes(fake.managedIdentity.identityHeader),
        'the identity header leaked into the error',
      );
    });

    it('DefaultAzureCredential (no credential configured) reaches the managed identity', async () => {
      const config = parseAzureCpiConfig(properties(fake, null));
      assert.deepEqual(config.credential, { kind: 'default' });
      const from = fake.requestLog.entries().length;
      assert.equal(await cpiFor(properties(fake, null)).hasVm(MISSING_VM), false);
      assert.deepEqual(callersSince(fake, from), new Set([fake.managedIdentity.systemAssigned!.principalId]));
    });

    it('IMDS (as AKS pod identity points it elsewhere): system-assigned, user-assigned, unknown id, default chain', async () => {
      const [one] = fake.managedIdentity.userAssigned;
      const from = fake.requestLog.entries().length;
      const results = await child(fake, fake.managedIdentity.environment('imds'), [
        true,
        one!.clientId,
        'no-such-client-id',
        null,
      ]);
      assert.deepEqual(results.slice(0, 2), [{ ok: false }, { ok: false }]);
      const refused = results[2]!;
      assert.ok('error' in refused, JSON.stringify(refused));
      assert.equal(refused.error.name, 'CpiError');
      assert.match(
        refused.error.message,
        /^CPI 'has_vm' responded with Unknown error: ManagedIdentityCredential: Authentication failed\. .*Identity not found/,
      );
      assert.deepEqual(results[3], { ok: false });
      const log = fake.requestLog.entries().slice(from);
      assert.ok(
        log.some(
          (e) =>
            e.resourceType === 'managedIdentity' &&
            /^\/metadata\/identity\/oauth2\/token\/?$/.test(e.path) &&
            e.apiVersion === '2018-02-01' &&
            e.status === 200,
        ),
      );
      assert.deepEqual(
        callersSince(fake, from),
        new Set([fake.managedIdentity.systemAssigned!.principalId, one!.principalId]),
      );
    });

    it('a wrong IDENTITY_HEADER: the App Service endpoint refuses, the CPI error names the cause and not the secret', async () => {
      const wrong = 'not-the-identity-header-0123456789';
      const results = await child(
        fake,
        { ...fake.managedIdentity.environment('app_service'), IDENTITY_HEADER: wrong },
        [true],
      );
      const refused = results[0]!;
      assert.ok('error' in refused, JSON.stringify(refused));
      assert.equal(refused.error.kind, 'Unknown');
      assert.match(
        refused.error.message,
        /^CPI 'has_vm' responded with Unknown error: ManagedIdentityCredential: Authentication failed\. .*X-IDENTITY-HEADER header is missing or does not match IDENTITY_HEADER\./,
      );
      assert.ok(
        !refused.error.message.includes(wrong) && !refused.error.message.includes(fake.managedIdentity.identityHeader),
        'a header value leaked into the error',
      );
    });
  });
}
