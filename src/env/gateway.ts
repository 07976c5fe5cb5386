// How the director reaches an environment's VMs. On Azure they have private addresses only and
// the director runs outside the virtual network, so it goes through a gateway: the jumpbox
// create-env makes (the default on Azure), or one the operator names. `gateway: none` says the
// director runs inside the network and dials the VMs itself (the local CPI's VMs always are).
import type { GatewayOptions } from '../agent-client/gateway.js';
import { parseSshPublicKey } from '../crypto/ssh-keys.js';
import { DirectorError } from '../errors.js';
import type { EnvironmentRecord, JsonObject } from '../state/index.js';

/** The environment manifest's `gateway:` as written: `none`, or where a gateway is. */
export type GatewayConfig =
  | 'none'
  | {
      readonly host: string;
      readonly port: number;
      readonly user: string;
      readonly privateKey?: string;
      readonly hostPublicKey: string;
    };

/** What the state records (EnvironmentRecord.gateway), as read. */
export type GatewayRecord =
  | { readonly mode: 'none' }
  | {
      readonly mode: 'given';
      readonly host: string;
      readonly port: number;
      readonly user: string;
      readonly privateKey?: string;
      readonly hostPublicKey: string;
    }
  | {
      readonly mode: 'jumpbox';
      readonly user: string;
      /** The host key the director generated for the jumpbox (it goes into its custom data). */
      readonly hostPrivateKey: string;
      readonly hostPublicKey: string;
      /** Its public address, once create-env learned it. */
      readonly host?: string;
      readonly port: number;
    };

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : (JSON.stringify(v) ?? String(v)));
const isPort = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0 && v < 65536;

/** Reads the manifest's `gateway:`, every problem at once, each with its path. undefined when absent. */
export function parseGatewayConfig(raw: unknown, file: string): GatewayConfig | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (raw === 'none') return 'none';
  const where = `Validating environment manifest '${file}'`;
  if (!isPlainObject(raw))
    throw new DirectorError(
      `${where}: 'gateway' must be 'none' or a map {host, user, private_key, host_public_key}, found ${show(raw)}`,
    );
  const problems: string[] = [];
  const host = raw['host'];
  if (typeof host !== 'string' || host === '')
    problems.push(`'gateway.host' must be the gateway's address, found ${show(host)}`);
  const port = raw['port'] ?? 22;
  if (!isPort(port)) problems.push(`'gateway.port' must be a port number, found ${show(port)}`);
  const user = raw['user'] ?? 'vcap';
  if (typeof user !== 'string' || user === '') problems.push(`'gateway.user' must be a user name, found ${show(user)}`);
  const privateKey = raw['private_key'];
  // a key's text is a secret: never shown back
  if (privateKey !== undefined && (typeof privateKey !== 'string' || !privateKey.includes('PRIVATE KEY')))
    problems.push(`'gateway.private_key' must be a private key (PEM or OpenSSH)`);
  const hostPublicKey = raw['host_public_key'];
  let keyOk = typeof hostPublicKey === 'string';
  if (keyOk) {
    try {
      parseSshPublicKey(hostPublicKey as string);
    } catch {
      keyOk = false;
    }
  }
  if (!keyOk)
    problems.push(
      `'gateway.host_public_key' must be the gateway's OpenSSH host public key (its host key is checked, never trusted on first use), found ${show(hostPublicKey)}`,
    );
  for (const k of Object.keys(raw))
    if (!['host', 'port', 'user', 'private_key', 'host_public_key'].includes(k))
      problems.push(`'gateway.${k}' is not a gateway setting (host, port, user, private_key, host_public_key)`);
  if (problems.length > 0) throw new DirectorError(`${where}: ${problems.join('; ')}`);
  return {
    host: host as string,
    port: port as number,
    user: user as string,
    hostPublicKey: hostPublicKey as string,
    ...(privateKey === undefined ? {} : { privateKey: privateKey as string }),
  };
}

/** Reads the recorded gateway; undefined when none was ever recorded. */
export function gatewayRecord(env: EnvironmentRecord): GatewayRecord | undefined {
  const g = env.gateway;
  if (g === null) return undefined;
  const str = (k: string): string | undefined => (typeof g[k] === 'string' ? (g[k] as string) : undefined);
  const port = typeof g['port'] === 'number' ? g['port'] : 22;
  switch (g['mode']) {
    case 'none':
      return { mode: 'none' };
    case 'given': {
      const pk = str('private_key');
      return {
        mode: 'given',
        host: str('host') ?? '',
        port,
        user: str('user') ?? 'vcap',
        hostPublicKey: str('host_public_key') ?? '',
        ...(pk === undefined ? {} : { privateKey: pk }),
      };
    }
    case 'jumpbox': {
      const host = str('host');
      return {
        mode: 'jumpbox',
        user: str('user') ?? 'jumpbox',
        hostPrivateKey: str('host_private_key') ?? '',
        hostPublicKey: str('host_public_key') ?? '',
        port,
        ...(host === undefined ? {} : { host }),
      };
    }
    default:
      throw new DirectorError(
        `The recorded gateway of environment '${env.name}' is not one this director knows (mode ${show(g['mode'])})`,
      );
  }
}

/** The record as the state keeps it. */
export function gatewayJson(g: GatewayRecord): JsonObject {
  switch (g.mode) {
    case 'none':
      return { mode: 'none' };
    case 'given':
      return {
        mode: 'given',
        host: g.host,
        port: g.port,
        user: g.user,
        host_public_key: g.hostPublicKey,
        ...(g.privateKey === undefined ? {} : { private_key: g.privateKey }),
      };
    case 'jumpbox':
      return {
        mode: 'jumpbox',
        user: g.user,
        port: g.port,
        host_private_key: g.hostPrivateKey,
        host_public_key: g.hostPublicKey,
        ...(g.host === undefined ? {} : { host: g.host }),
      };
  }
}

/** bosh-cli's gateway flags (`--gw-host`, `--gw-user`, `--gw-private-key`, `--gw-disable`), already read. */
export interface GatewayFlags {
  readonly host?: string;
  readonly user?: string;
  /** The key's text (the flag names a file; the CLI reads it). */
  readonly privateKey?: string;
  readonly disable?: boolean;
}

/**
 * How the director reaches the VMs of `env`: the gateway to go through, or undefined to dial
 * them directly. The flags, where a command has them, override the recorded gateway as
 * bosh-cli's do; a gateway whose host key the director does not know is refused.
 */
export function gatewayFor(env: EnvironmentRecord, flags: GatewayFlags = {}): GatewayOptions | undefined {
  if (flags.disable) return undefined;
  const recorded = gatewayRecord(env);
  let base:
    | { host: string | undefined; port: number; user: string; privateKey: string; hostPublicKey: string | undefined }
    | undefined;
  if (recorded?.mode === 'given')
    base = {
      host: recorded.host,
      port: recorded.port,
      user: recorded.user,
      privateKey: recorded.privateKey ?? env.sshKey.privateKey,
      hostPublicKey: recorded.hostPublicKey,
    };
  else if (recorded?.mode === 'jumpbox')
    base = {
      host: recorded.host,
      port: recorded.port,
      user: recorded.user,
      privateKey: env.sshKey.privateKey,
      hostPublicKey: recorded.hostPublicKey,
    };
  if (flags.host === undefined && base === undefined) return undefined;
  const host = flags.host ?? base?.host;
  if (host === undefined)
    throw new DirectorError(
      `Environment '${env.name}' has a jumpbox whose address create-env has not recorded yet: run create-env again`,
    );
  // a host key is known only for the recorded gateway
  const hostPublicKey =
    base !== undefined && (flags.host === undefined || flags.host === base.host) ? base.hostPublicKey : undefined;
  if (hostPublicKey === undefined) {
    throw new DirectorError(
      `Gateway '${host}': the director knows no host key for it and trusts none on first use; name it in the environment manifest as gateway: {host, host_public_key} and run create-env`,
    );
  }
  return {
    host,
    port: base?.port ?? 22,
    username: flags.user ?? base?.user ?? 'vcap',
    privateKey: flags.privateKey ?? base?.privateKey ?? env.sshKey.privateKey,
    hostPublicKey,
  };
}
