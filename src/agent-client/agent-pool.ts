import { AgentClient } from './agent-client.js';
import type { AgentClientOptions, AgentConnector, AgentEndpoint } from './agent-client.js';
import { Semaphore } from './semaphore.js';
import { connectSsh } from './ssh-transport.js';

export interface AgentPoolOptions extends Omit<AgentClientOptions, 'concurrency'> {
  /** Agent commands running at once across all VMs (default 8). */
  readonly maxConcurrentCommands?: number;
  /** How connections are made (default: ssh2 with strict host-key verification). */
  readonly connector?: AgentConnector;
}

/** The ssh2 connector: the endpoint's user (default `vcap`), the director's key, the VM's host key. */
export const sshConnector: AgentConnector = (endpoint, opts) =>
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
  });

/**
 * The agent clients of one task, keyed by VM: a connection is reused for every command to its
 * VM, commands across VMs are bounded, and `closeAll()` ends them all when the task is done.
 */
export class AgentPool {
  private readonly clients = new Map<string, AgentClient>();
  private readonly concurrency: Semaphore;

  constructor(private readonly options: AgentPoolOptions) {
    this.concurrency = new Semaphore(options.maxConcurrentCommands ?? 8);
  }

  /** The client of VM `vmKey`; a changed endpoint (address or host key) gets a new connection. */
  client(vmKey: string, endpoint: AgentEndpoint): AgentClient {
    const existing = this.clients.get(vmKey);
    if (existing !== undefined) {
      const e = existing.endpoint;
      if (e.host === endpoint.host && e.port === endpoint.port && e.hostPublicKey === endpoint.hostPublicKey && e.root === endpoint.root && e.username === endpoint.username) {
        return existing;
      }
      void existing.close();
    }
    const client = new AgentClient({ name: vmKey, ...endpoint }, { ...this.options, concurrency: this.concurrency }, this.options.connector ?? sshConnector);
    this.clients.set(vmKey, client);
    return client;
  }

  /** Closes every connection; the pool can be used again afterwards. */
  async closeAll(): Promise<void> {
    const all = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(all.map((c) => c.close()));
  }
}
