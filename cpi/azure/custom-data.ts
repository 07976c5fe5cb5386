import { stringify } from 'yaml';
import type { DiskHint, Networks, VmEnv } from '../contract.js';

/** The agent root on an Azure VM: the SSH login directory of `vcap`. */
export const AGENT_ROOT = '/var/vcap';
/** Hyper-V's SCSI controller for data disks: the agent finds LUN n under this device id. */
export const AZURE_SCSI_HOST_DEVICE_ID = '{f8b3781b-1e82-4818-a1c3-63d806ec15bb}';

/** The agent settings the VM finds at /var/vcap/bosh/settings.json (BOSH agent settings shape). */
export interface AgentSettings {
  readonly agent_id: string;
  readonly vm: { readonly name: string };
  readonly networks: Networks;
  readonly disks: {
    readonly system: string;
    readonly ephemeral: DiskHint | null;
    readonly persistent: Readonly<Record<string, DiskHint>>;
  };
  readonly env: Readonly<Record<string, unknown>>;
}

const HOST_KEY_TYPES: Readonly<Record<string, string>> = {
  'ssh-ed25519': 'ed25519',
  'ssh-rsa': 'rsa',
  'ecdsa-sha2-nistp256': 'ecdsa',
  'ecdsa-sha2-nistp384': 'ecdsa',
  'ecdsa-sha2-nistp521': 'ecdsa',
};

/**
 * The custom data (cloud-init `#cloud-config`) of a VM: user `vcap` whose HOME is the agent root,
 * the director's public keys authorized, the director-generated host key installed (so the
 * director can verify the VM from its first connection, no trust on first use) and the agent
 * settings written. It carries a private key: never log it.
 */
export function cloudConfig(opts: {
  readonly sshUser: string;
  readonly env: VmEnv;
  readonly hostPublicKey: string;
  readonly settings: AgentSettings;
}): string {
  const algorithm = opts.hostPublicKey.split(' ')[0] ?? '';
  const type = HOST_KEY_TYPES[algorithm] ?? 'ed25519';
  const doc = {
    users: [
      {
        name: opts.sshUser,
        homedir: AGENT_ROOT,
        shell: '/bin/bash',
        sudo: 'ALL=(ALL) NOPASSWD:ALL',
        lock_passwd: true,
        ssh_authorized_keys: [...opts.env.ssh.authorizedKeys],
      },
    ],
    ssh_deletekeys: true,
    ssh_genkeytypes: [],
    ssh_keys: { [`${type}_private`]: opts.env.ssh.hostPrivateKey, [`${type}_public`]: opts.hostPublicKey },
    write_files: [
      {
        path: `${AGENT_ROOT}/bosh/settings.json`,
        permissions: '0600',
        owner: 'root:root',
        content: JSON.stringify(opts.settings),
      },
    ],
  };
  return `#cloud-config\n${stringify(doc, { lineWidth: 0 })}`;
}
