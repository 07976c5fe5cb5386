import { DirectorError } from '../../src/errors.js';
import type { EnvironmentCpi, FoundationOutcome, JumpboxRequest } from '../environment.js';
import { FOUNDATION_INTENT_KEY, FOUNDATION_RECORD_KEY, type CpiProperties } from '../foundation-record.js';
import { AzureCpi } from './azure-cpi.js';
import type { AzureCallStats } from './clients.js';
import { buildAzureClients } from './clients.js';
import { parseAzureCpiConfig } from './config.js';
import { isTransientAsyncFailure } from './error-mapper.js';
import { deleteFoundation, ensureFoundation, parseFoundationProps } from './foundation.js';

/** The director's own Azure settings, read beside what the CPI itself validates. */
export interface AzureDirectorSettings {
  /** The port agents' SSH servers listen on (22 on Azure; a local VM host's port against the fake). */
  readonly sshPort: number;
  /** Poll interval of long-running operations without Retry-After (`poll_interval_ms`, default 2000). */
  readonly pollIntervalMs: number;
  /** The SDK pipelines' retries (`http_retry: {max_retries, retry_delay_ms, max_retry_delay_ms}`). */
  readonly retry: {
    readonly maxRetries?: number;
    readonly retryDelayInMs?: number;
    readonly maxRetryDelayInMs?: number;
  };
  /** Repeats of a CPI method after a transient failed long-running operation (`async_retries`). */
  readonly asyncRetries: number | undefined;
  /** Foundation ids recorded by earlier create-env runs. */
  readonly recorded: readonly string[];
  /** Foundation ids a run was about to create when it stopped (see FOUNDATION_INTENT_KEY). */
  readonly intended: readonly string[];
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown, min = 0): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min;

/** Reads the director's settings from Azure CPI properties, every problem at once, each by name. */
export function parseAzureDirectorSettings(properties: CpiProperties): AzureDirectorSettings {
  const problems: string[] = [];
  const p = properties as Record<string, unknown>;
  const sshPort = p['ssh_port'] ?? 22;
  if (!isCount(sshPort, 1) || sshPort > 65535)
    problems.push(`'ssh_port' must be a port number, found ${JSON.stringify(sshPort)}`);
  const poll = p['poll_interval_ms'] ?? 2000;
  if (!isCount(poll, 1))
    problems.push(`'poll_interval_ms' must be a positive whole number, found ${JSON.stringify(poll)}`);
  const retryRaw = p['http_retry'] ?? {};
  const retry: { maxRetries?: number; retryDelayInMs?: number; maxRetryDelayInMs?: number } = {};
  if (!isPlainObject(retryRaw))
    problems.push(
      `'http_retry' must be a map {max_retries, retry_delay_ms, max_retry_delay_ms}, found ${JSON.stringify(retryRaw)}`,
    );
  else
    for (const [key, field] of [
      ['max_retries', 'maxRetries'],
      ['retry_delay_ms', 'retryDelayInMs'],
      ['max_retry_delay_ms', 'maxRetryDelayInMs'],
    ] as const) {
      const v = retryRaw[key];
      if (v === undefined) continue;
      if (!isCount(v)) problems.push(`'http_retry.${key}' must be a whole number, found ${JSON.stringify(v)}`);
      else retry[field] = v;
    }
  const asyncRetries = p['async_retries'];
  if (asyncRetries !== undefined && !isCount(asyncRetries))
    problems.push(`'async_retries' must be a whole number, found ${JSON.stringify(asyncRetries)}`);
  const recorded = p[FOUNDATION_RECORD_KEY] ?? [];
  if (!Array.isArray(recorded) || !recorded.every((r) => typeof r === 'string'))
    problems.push(`'${FOUNDATION_RECORD_KEY}' must be a list of resource ids`);
  const intended = p[FOUNDATION_INTENT_KEY] ?? [];
  if (!Array.isArray(intended) || !intended.every((r) => typeof r === 'string'))
    problems.push(`'${FOUNDATION_INTENT_KEY}' must be a list of resource ids`);
  if (problems.length > 0) throw new DirectorError(`Validating Azure CPI config: ${problems.join('; ')}`);
  return {
    sshPort: sshPort as number,
    pollIntervalMs: poll as number,
    retry,
    asyncRetries: asyncRetries as number | undefined,
    recorded: recorded as string[],
    intended: intended as string[],
  };
}

/** An Azure environment's CPI, with the call statistics of its SDK pipelines. */
export interface AzureEnvironmentCpi extends EnvironmentCpi {
  readonly cpi: AzureCpi;
  stats(): Readonly<AzureCallStats>;
}

/**
 * The Azure branch of `environmentCpi`: the Azure CPI on clients built from the recorded CPI
 * properties (endpoint, authority host, CA, credentials), the foundation it builds on create-env,
 * and the teardown of delete-env: every VM, disk, snapshot, stemcell and availability set tagged
 * with the director's uuid, then exactly the foundation resources create-env recorded.
 */
export function azureEnvironmentCpi(cpiProperties: CpiProperties, directorUuid: string): AzureEnvironmentCpi {
  const config = parseAzureCpiConfig(cpiProperties);
  const settings = parseAzureDirectorSettings(cpiProperties);
  const clients = buildAzureClients(config, { retry: settings.retry });
  const cpi = new AzureCpi(config, {
    clients,
    pollIntervalMs: settings.pollIntervalMs,
    directorUuid,
    ...(settings.asyncRetries === undefined ? {} : { asyncRetries: settings.asyncRetries }),
  });
  const lro = { pollIntervalMs: settings.pollIntervalMs };
  const retries = settings.asyncRetries ?? 3;
  const hasFoundation = isPlainObject(cpiProperties['foundation']);
  return {
    cpi,
    sshPort: settings.sshPort,
    stats: () => cpi.stats(),
    findVmByAgentId: (agentId) => cpi.findVmByAgentId(agentId),
    // Light stemcells create nothing (the cid names the image); heavy ones are uploaded anew.
    findStemcell: async () => undefined,
    ...(hasFoundation
      ? {
          jumpboxUser: (() => {
            const j = (cpiProperties['foundation'] as Record<string, unknown>)['jumpbox'];
            const user = isPlainObject(j) ? j['user'] : undefined;
            return typeof user === 'string' ? user : 'jumpbox';
          })(),
          ensureFoundation: async (
            onIntent?: (id: string) => void,
            jumpbox?: JumpboxRequest,
          ): Promise<FoundationOutcome> => {
            const props = parseFoundationProps(cpiProperties);
            // Reads before it writes, so it can run again after a failed async operation; what a
            // failed attempt created is kept, as a repeat finds it "unchanged".
            const created: string[] = [];
            for (let attempt = 0; ; attempt++) {
              try {
                const r = await ensureFoundation(clients, props, {
                  ...lro,
                  recorded: [...settings.recorded, ...created],
                  ...(onIntent ? { onIntent } : {}),
                  ...(jumpbox ? { jumpbox } : {}),
                });
                return { created: [...created, ...r.created], updated: r.updated, addresses: r.addresses };
              } catch (err) {
                created.push(...((err as { created?: readonly string[] }).created ?? []));
                if (attempt < retries && isTransientAsyncFailure(err)) continue;
                throw Object.assign(new DirectorError('Creating the Azure foundation', { cause: err }), { created });
              }
            }
          },
        }
      : {}),
    teardown: async () => {
      const found = await cpi.inventory(directorUuid);
      for (const vm of found.vms) await cpi.deleteVm(vm);
      for (const d of found.disks) await cpi.deleteDisk(d);
      for (const s of found.snapshots) await cpi.deleteSnapshot(s);
      for (const s of found.stemcells) await cpi.deleteStemcell(s);
      for (const a of found.availabilitySets) await cpi.deleteAvailabilitySet(a);
      for (let attempt = 0; ; attempt++) {
        try {
          await deleteFoundation(
            clients,
            [
              ...settings.recorded,
              ...settings.intended.filter((i) => !settings.recorded.some((r) => r.toLowerCase() === i.toLowerCase())),
            ],
            lro,
          );
          return;
        } catch (err) {
          // deleting what is already gone succeeds, so the whole deletion can run again
          if (attempt < retries && isTransientAsyncFailure(err)) continue;
          throw err;
        }
      }
    },
  };
}
