import { ComputeManagementClient } from '@azure/arm-compute';
import { NetworkManagementClient } from '@azure/arm-network';
import { ResourceManagementClient } from '@azure/arm-resources';
import { StorageManagementClient } from '@azure/arm-storage';
import { ClientSecretCredential } from '@azure/identity';
import type { FakeArm } from './fake-arm.js';

/** The real SDK clients, wired to a fake ARM. */
export interface FakeArmClients {
  readonly credential: ClientSecretCredential;
  readonly resources: ResourceManagementClient;
  readonly network: NetworkManagementClient;
  readonly compute: ComputeManagementClient;
  readonly storage: StorageManagementClient;
}

/** Retry settings for tests: quick exponential retries (429 still waits for Retry-After). */
export interface ClientTuning {
  readonly retryDelayInMs?: number;
  readonly maxRetries?: number;
}

/**
 * Builds the installed SDK clients against the fake, unchanged except for options every client
 * takes: `endpoint`, `tlsOptions.ca` (trust the per-run CA; NODE_EXTRA_CA_CERTS is only read at
 * process start), the credential's `authorityHost` + `disableInstanceDiscovery`, and the ARM
 * audience as credential scope (the classic clients would otherwise ask for `{endpoint}/.default`).
 */
export function fakeArmClients(fake: FakeArm, tuning: ClientTuning = {}): FakeArmClients {
  const tlsOptions = { ca: fake.caPem };
  const retryOptions = {
    retryDelayInMs: tuning.retryDelayInMs ?? 20,
    maxRetries: tuning.maxRetries ?? 3,
    maxRetryDelayInMs: 200,
  };
  const credential = new ClientSecretCredential(fake.tenantId, fake.clientId, fake.clientSecret, {
    authorityHost: fake.authorityHost,
    disableInstanceDiscovery: true,
    tlsOptions,
  });
  const scope = 'https://management.azure.com/.default';
  const common = { endpoint: fake.endpoint, tlsOptions, retryOptions };
  return {
    credential,
    resources: new ResourceManagementClient(credential, fake.subscriptionId, { ...common, credentialScopes: scope }),
    network: new NetworkManagementClient(credential, fake.subscriptionId, { ...common, credentialScopes: scope }),
    compute: new ComputeManagementClient(credential, fake.subscriptionId, {
      ...common,
      credentials: { scopes: [scope] },
    }),
    storage: new StorageManagementClient(credential, fake.subscriptionId, {
      ...common,
      credentials: { scopes: [scope] },
    }),
  };
}
