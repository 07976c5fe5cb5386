import { AgentClient } from './agent-client.js';
import type { AgentClientOptions, AgentConnector, AgentEndpoint } from './agent-client.js';
import { SshGateway, type GatewayOptions } from './gateway.js';
import { Semaphore } from './semaphore.js';
import { connectSsh } from './ssh-transport.js';

export interface AgentPoolOptions extends Omit<AgentClientOptions, 'concurrency'> {
  /** Agent commands running at once across all VMs (default 8). */
  readonly maxConcurrentCommands?: number;
  /** How connections are made (default: ssh2 with strict host-key verification). */
  readonly connector?: AgentConnector;
  /**
   * Reach every VM through this gateway: one SSH connection to it, a forwarded channel per VM
   * (with the default connector). Absent: VMs are dialed directly.
   */
  readonly gateway?: GatewayOptions;
}

/** The ssh2 connector: the endpoint's user (default `vcap`), the director's key, the VM's host key. */
export const sshConnector: AgentConnector = gatewayConnector(undefined);

/** The ssh2 connector through `gateway` (directly when undefined). */
export function gatewayConnector(gateway: SshGateway | undefined): AgentConnector {
  return (endpoint, opts) =>
    connectSsh({
      host: endpoint.host,
      port: endpoint.port,
      username: endpoint.username ?? 'vcap',
      privateKey: opts.privateKey,
      hostPublicKey: endpoint.hostPublicKey,
      connectTimeoutMs: opts.connectTimeoutMs,
      maxChannels: opts.maxChannels,
      vm: opts.vm,
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(gateway === undefined ? {} : { gateway }),
    });
}

/**
 * The agent clients of one task, keyed by VM: a connection is reused for every command to its
 * VM, commands across VMs are bounded, and `closeAll()` ends them all when the task is done.
 */
export class AgentPool {
  private readonly clients = new Map<string, AgentClient>();
  private readonly concurrency: Semaphore;
  private readonly connector: AgentConnector;
  private readonly gateway: SshGateway | undefined;

  constructor(private readonly options: AgentPoolOptions) {
    this.concurrency = new Semaphore(options.maxConcurrentCommands ?? 8);
    this.gateway = options.gateway === undefined ? undefined : new SshGateway(options.gateway);
    this.connector = options.connector ?? gatewayConnector(this.gateway);
  }

  /** Connections and channels through the gateway, when there is one. */
  gatewayStats(): { readonly connections: number; readonly channels: number } | undefined {
    return this.gateway?.stats;
  }

  /** The client of VM `vmKey`; a changed endpoint (address or host key) gets a new connection. */
  client(vmKey: string, endpoint: AgentEndpoint): AgentClient {
    const existing = this.clients.get(vmKey);
    if (existing !== undefined) {
      const e = existing.endpoint;
      if (
        e.host === endpoint.host &&
        e.port === endpoint.port &&
        e.hostPublicKey === endpoint.hostPublicKey &&
        e.root === endpoint.root &&
        e.username === endpoint.username
      ) {
        return existing;
      }
      void existing.close();
    }
    const client = new AgentClient(
      { name: vmKey, ...endpoint },
      { ...this.options, concurrency: this.concurrency },
      this.connector,
    );
    this.clients.set(vmKey, client);
    return client;
  }

  /** Closes every connection (the gateway's last); the pool can be used again afterwards. */
  async closeAll(): Promise<void> {
    const all = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(all.map((c) => c.close()));
    this.gateway?.disconnect();
  }
}
