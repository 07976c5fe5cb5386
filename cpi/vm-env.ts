// The `env` of create_vm as every CPI reads it: who the VM is for (director, deployment,
// instance, agent) and the SSH identity the director made for it.
import { parseSshPrivateKey, parseSshPublicKey, publicKeyOf } from '../src/crypto/ssh-keys.js';
import type { ResourceTags, VmEnv } from './contract.js';
import { CpiFault } from './cpi-error.js';

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : (JSON.stringify(v) ?? String(v)));
const invalid = (message: string): CpiFault => new CpiFault('InvalidCloudProperties', message);

export interface CheckedVmEnv {
  /** The identity tags every VM carries (director uuid, deployment, instance, agent id). */
  readonly tags: ResourceTags;
  /** The public half of the host key the VM must present. */
  readonly hostPublicKey: string;
  /** The keys allowed to log in, as OpenSSH public key lines. */
  readonly authorizedKeys: string[];
}

/** Checks create_vm's `env` for `agentId`; every problem is InvalidCloudProperties naming the field. */
export function checkVmEnv(env: VmEnv, agentId: string): CheckedVmEnv {
  if (!isPlainObject(env)) throw invalid(`env must be a map, found ${show(env)}`);
  const d = env.director as unknown;
  if (!isPlainObject(d)) throw invalid('env.director must be a map with uuid, deployment, instance and agentId');
  for (const key of ['uuid', 'deployment', 'agentId'] as const) {
    if (typeof d[key] !== 'string' || d[key] === '')
      throw invalid(`env.director.${key} must be a non-empty string, found ${show(d[key])}`);
  }
  if (d.agentId !== agentId)
    throw invalid(`env.director.agentId '${String(d.agentId)}' differs from the agent id '${agentId}'`);
  const inst = d.instance;
  if (
    !isPlainObject(inst) ||
    typeof inst.group !== 'string' ||
    typeof inst.id !== 'string' ||
    typeof inst.index !== 'number'
  ) {
    throw invalid('env.director.instance must be {group: string, index: number, id: string}');
  }
  const ssh = env.ssh as unknown;
  if (!isPlainObject(ssh)) throw invalid('env.ssh must be a map with hostPrivateKey and authorizedKeys');
  let hostPublicKey: string;
  try {
    if (typeof ssh.hostPrivateKey !== 'string') throw new Error('not a string');
    parseSshPrivateKey(ssh.hostPrivateKey);
    hostPublicKey = publicKeyOf(ssh.hostPrivateKey);
  } catch {
    throw invalid('env.ssh.hostPrivateKey is not a usable private key (OpenSSH or PEM, unencrypted)');
  }
  if (!Array.isArray(ssh.authorizedKeys) || ssh.authorizedKeys.length === 0)
    throw invalid('env.ssh.authorizedKeys must list at least one public key');
  const authorizedKeys = ssh.authorizedKeys.map((k: unknown, i: number) => {
    try {
      return parseSshPublicKey(String(k)).line;
    } catch {
      throw invalid(`env.ssh.authorizedKeys[${i}] is not an OpenSSH public key line`);
    }
  });
  return {
    tags: {
      director: d.uuid as string,
      deployment: d.deployment as string,
      instance_group: inst.group,
      instance_index: String(inst.index),
      instance_id: inst.id,
      agent_id: agentId,
    },
    hostPublicKey,
    authorizedKeys,
  };
}
