import { ComputeManagementClient } from '@azure/arm-compute';
import { NetworkManagementClient } from '@azure/arm-network';
import { ResourceManagementClient } from '@azure/arm-resources';
import { StorageManagementClient } from '@azure/arm-storage';
import { ClientSecretCredential, DefaultAzureCredential, ManagedIdentityCredential } from '@azure/identity';
import type { TokenCredential } from '@azure/identity';
import type { AzureCpiConfig } from './config.js';

/** How hard the SDK pipelines retry (429 always waits for Retry-After, 5xx backs off exponentially). */
export interface AzureRetryOptions {
  /** Retries after the first attempt (default 4). */
  readonly maxRetries?: number;
  /** First backoff for 5xx and connection resets (default 1000 ms). */
  readonly retryDelayInMs?: number;
  /** Backoff cap (default 30 s). */
  readonly maxRetryDelayInMs?: number;
}

/** What the pipelines saw: how often Azure made us retry and how long we waited for it. */
export interface AzureCallStats {
  /** HTTP attempts sent to ARM (retries and LRO polls included). */
  requests: number;
  /** Attempts that repeated an earlier one (the SDK's retry policy at work). */
  retries: number;
  /** 429 answers. */
  throttled: number;
  /** 5xx answers. */
  serverErrors: number;
  /** Connection-level failures (reset, refused, timeout). */
  networkErrors: number;
  /** Milliseconds spent between a failed attempt and its retry. */
  waitMs: number;
  /** CPI methods run again because a long-running operation ended Failed with a transient code. */
  asyncRetries: number;
  /** Polls of long-running operations the CPI followed itself (as Retry-After said). */
  polls: number;
  /** Requests sent again because another operation held the resource (409/429 AnotherOperationInProgress). */
  conflicts: number;
}

/** The subset of core-rest-pipeline's request/response that the counting policy reads. */
interface PipelineRequestLike {
  readonly url: string;
}
interface PipelineResponseLike {
  readonly status: number;
  readonly bodyAsText?: string | null;
  readonly headers?: { get(name: string): string | undefined };
}
interface CountingPolicy {
  readonly name: string;
  sendRequest(
    request: PipelineRequestLike,
    next: (request: PipelineRequestLike) => Promise<PipelineResponseLike>,
  ): Promise<PipelineResponseLike>;
}

/**
 * A per-retry pipeline policy: it sits after the SDK's retry policy, so it sees every attempt;
 * the retry policy re-sends the same request object, which is how a retry is recognised.
 */
function countingPolicy(stats: AzureCallStats, now: () => number): CountingPolicy {
  const lastAttemptEnd = new WeakMap<object, number>();
  return {
    name: 'directorCallStats',
    async sendRequest(request, next) {
      const ended = lastAttemptEnd.get(request);
      stats.requests++;
      if (ended !== undefined) {
        stats.retries++;
        stats.waitMs += Math.max(0, now() - ended);
      }
      try {
        const response = await next(request);
        if (response.status === 429) stats.throttled++;
        else if (response.status >= 500) stats.serverErrors++;
        return response;
      } catch (err) {
        stats.networkErrors++;
        throw err;
      } finally {
        lastAttemptEnd.set(request, now());
      }
    },
  };
}

/**
 * Answers that say "another operation holds this resource": the same request works once it is
 * over. 409 AnotherOperationInProgress (ARM RPC: a mutation while an operation is in progress)
 * and Network's 429 RetryableErrorDueToAnotherOperation; bosh-azure-cpi retries both.
 */
const ANOTHER_OPERATION = /"code"\s*:\s*"(AnotherOperationInProgress|RetryableErrorDueToAnotherOperation)"/;

/**
 * A per-call policy (outside the SDK's own retries) that sends a request again while another
 * operation holds its resource: exponential backoff from `retryDelayInMs` (or Retry-After, when
 * longer), at most `attempts` times; then the last answer goes up as it came.
 */
function anotherOperationPolicy(
  stats: AzureCallStats,
  retry: { retryDelayInMs: number; maxRetryDelayInMs: number },
  attempts: number,
): CountingPolicy {
  return {
    name: 'directorAnotherOperation',
    async sendRequest(request, next) {
      for (let i = 0; ; i++) {
        let response: PipelineResponseLike;
        try {
          response = await next(request);
        } catch (err) {
          // the SDK operations' deserialization throws a RestError for an error status: its response is on it
          const e = err as { statusCode?: number; code?: string; response?: PipelineResponseLike };
          const status = e.statusCode ?? e.response?.status;
          const another =
            (e.code !== undefined &&
              /^(AnotherOperationInProgress|RetryableErrorDueToAnotherOperation)$/.test(e.code)) ||
            ANOTHER_OPERATION.test(e.response?.bodyAsText ?? '');
          if ((status !== 409 && status !== 429) || !another || i >= attempts) throw err;
          stats.conflicts++;
          await new Promise((r) => setTimeout(r, Math.min(retry.maxRetryDelayInMs, retry.retryDelayInMs * 2 ** i)));
          continue;
        }
        if (
          (response.status !== 409 && response.status !== 429) ||
          i >= attempts ||
          !ANOTHER_OPERATION.test(response.bodyAsText ?? '')
        )
          return response;
        const after = Number(response.headers?.get('retry-after'));
        const backoff = Math.min(retry.maxRetryDelayInMs, retry.retryDelayInMs * 2 ** i);
        stats.conflicts++;
        await new Promise((r) => setTimeout(r, Math.max(backoff, Number.isFinite(after) ? after * 1000 : 0)));
      }
    },
  };
}

/** The SDK clients the Azure CPI and the foundation use, sharing one credential and pipeline setup. */
export interface AzureClients {
  readonly credential: TokenCredential;
  readonly compute: ComputeManagementClient;
  readonly network: NetworkManagementClient;
  readonly resources: ResourceManagementClient;
  readonly storage: StorageManagementClient;
  readonly stats: AzureCallStats;
}

/** Builds the credential the config asks for (service principal, managed identity, default chain). */
export function credentialFor(config: AzureCpiConfig): TokenCredential {
  const tlsOptions = config.caCert === undefined ? undefined : { ca: config.caCert };
  const common = { authorityHost: config.authorityHost, ...(tlsOptions === undefined ? {} : { tlsOptions }) };
  switch (config.credential.kind) {
    case 'service_principal': {
      const { tenantId, clientId, clientSecret } = config.credential;
      // Instance discovery asks login.microsoftonline.com about the authority: not for sovereign
      // clouds reached by their own host, nor for a test authority.
      return new ClientSecretCredential(tenantId, clientId, clientSecret, {
        ...common,
        disableInstanceDiscovery:
          config.environment !== 'AzureCloud' || !config.authorityHost.endsWith('login.microsoftonline.com'),
      });
    }
    case 'managed_identity':
      return config.credential.clientId === undefined
        ? new ManagedIdentityCredential()
        : new ManagedIdentityCredential({ clientId: config.credential.clientId });
    default:
      return new DefaultAzureCredential(common);
  }
}

/**
 * Builds the ARM clients against `config.resourceManagerEndpoint`, trusting `config.caCert`, with
 * the SDK's own retry policy configured once (the CPI never retries on top of it) and a counting
 * policy that feeds `stats`.
 */
export function buildAzureClients(
  config: AzureCpiConfig,
  options: {
    readonly retry?: AzureRetryOptions;
    readonly credential?: TokenCredential;
    readonly now?: () => number;
  } = {},
): AzureClients {
  const credential = options.credential ?? credentialFor(config);
  const stats: AzureCallStats = {
    requests: 0,
    retries: 0,
    throttled: 0,
    serverErrors: 0,
    networkErrors: 0,
    waitMs: 0,
    asyncRetries: 0,
    polls: 0,
    conflicts: 0,
  };
  const retryOptions = {
    maxRetries: options.retry?.maxRetries ?? 4,
    retryDelayInMs: options.retry?.retryDelayInMs ?? 1000,
    maxRetryDelayInMs: options.retry?.maxRetryDelayInMs ?? 30_000,
  };
  const common = {
    endpoint: config.resourceManagerEndpoint,
    retryOptions,
    additionalPolicies: [
      { policy: anotherOperationPolicy(stats, retryOptions, 8), position: 'perCall' as const },
      { policy: countingPolicy(stats, options.now ?? Date.now), position: 'perRetry' as const },
    ],
    ...(config.caCert === undefined ? {} : { tlsOptions: { ca: config.caCert } }),
  };
  const scopes = [config.credentialScope];
  /* eslint-disable @typescript-eslint/no-explicit-any -- the classic and modular clients type their pipeline options from different copies of core-rest-pipeline */
  return {
    credential,
    compute: new ComputeManagementClient(credential, config.subscriptionId, {
      ...common,
      credentials: { scopes },
    } as any),
    storage: new StorageManagementClient(credential, config.subscriptionId, {
      ...common,
      credentials: { scopes },
    } as any),
    network: new NetworkManagementClient(credential, config.subscriptionId, {
      ...common,
      credentialScopes: scopes,
    } as any),
    resources: new ResourceManagementClient(credential, config.subscriptionId, {
      ...common,
      credentialScopes: scopes,
    } as any),
    stats,
  };
  /* eslint-enable @typescript-eslint/no-explicit-any */
}
