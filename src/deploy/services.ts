import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Cpi } from '../../cpi/contract.js';
import { environmentCpi } from '../env/cpi-factory.js';
import { gatewayFor, type GatewayFlags } from '../env/gateway.js';
import { manifestWithOps } from '../manifest/interpolate.js';
import { evaluateTemplate, varsFromFlags, type VarFlags, type Variables } from '../manifest/variables/index.js';
import type { YamlValue } from '../manifest/value.js';
import { DirectorError } from '../errors.js';
import { openBlobstore } from '../release/blobstore.js';
import type { StateStore } from '../state/index.js';
import { agentBundlePath, Director } from './director.js';
import type { AgentDialer } from './ports.js';
import { SshAgents } from './ssh-agents.js';

export interface DirectorWiring {
  /** Receives progress lines (never secrets). */
  readonly log?: (line: string) => void;
  /** Wraps the CPI (a seam for counting or recording calls; no module is mocked). */
  readonly wrapCpi?: (cpi: Cpi) => Cpi;
  /** Wraps the agent dialer, likewise. */
  readonly wrapAgents?: (agents: AgentDialer) => AgentDialer;
  /** bosh-cli's --gw-* flags of the command, over the environment's recorded gateway. */
  readonly gateway?: GatewayFlags;
}

/**
 * Builds the Director of an environment from its open state: its CPI, the SSH agent port with
 * the environment's key and the bundled agent, the blobstore beside the state file.
 */
export function directorFor(store: StateStore, wiring: DirectorWiring = {}): Director {
  const environment = store.environment.get();
  if (!environment) throw new DirectorError(`State file '${store.path}' holds no environment: run create-env`);
  const envCpi = environmentCpi(environment, store.localDir);
  const cpi = wiring.wrapCpi ? { ...envCpi, cpi: wiring.wrapCpi(envCpi.cpi) } : envCpi;
  const blobstore = openBlobstore(join(store.localDir, 'blobs'));
  const gateway = gatewayFor(environment, wiring.gateway);
  const ssh = new SshAgents({
    privateKey: environment.sshKey.privateKey,
    port: envCpi.sshPort,
    agentBundlePath: agentBundlePath(),
    readBlob: async (id) => blobstore.get(id),
    ...(gateway === undefined ? {} : { gateway }),
  });
  const agents = wiring.wrapAgents ? wiring.wrapAgents(ssh) : ssh;
  return new Director({ store, environment, cpi, agents, blobstore, sleep: (ms) => sleep(ms), ...(wiring.log ? { log: wiring.log } : {}) });
}

/**
 * The manifest `deploy` hands the director, as bosh-cli prepares it: ops-files applied and the
 * command line's variables filled in; the others stay ((placeholders)) for the deployment's own
 * variable store. So the recorded manifest converges again later (recreate, start, cloud-check)
 * without the flags.
 */
export async function deploymentManifest(manifest: string, opsFiles: readonly string[], varFlags: VarFlags): Promise<{ raw: YamlValue; vars: Variables }> {
  const vars = varsFromFlags(varFlags);
  const withOps = manifestWithOps({ manifest, opsFiles: [...opsFiles], varFlags });
  return { raw: vars.names().length ? await evaluateTemplate(withOps, { vars }) : withOps, vars };
}
