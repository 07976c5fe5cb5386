// The director's client of one VM's agent: commands as JSON over SSH exec, content-addressed
// uploads over SFTP. Requests may carry secrets (templates, properties); only command names and
// outcomes are ever logged.
import { createHash, randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import type {
  AgentCommand,
  AgentCommands,
  AgentEvent,
  AgentResponse,
  AgentSettingsFile,
  AgentStateValue,
  ApplyValue,
  DrainRequest,
  DrainValue,
  FetchLogsValue,
  JobSpec,
  MigrateDiskValue,
  MountDiskValue,
  PingValue,
  RunErrandValue,
  RunScriptValue,
  ScriptName,
  UnmountDiskValue,
} from '../../agent/protocol.js';
import { AgentCommandError } from './errors.js';
import type { Semaphore } from './semaphore.js';
import type { AgentTransport } from './transport.js';

/** Where a VM's agent is and how to recognise it. */
export interface AgentEndpoint {
  readonly host: string;
  readonly port: number;
  /** Login user (default `vcap`). */
  readonly username?: string;
  /** The OpenSSH public key line the director generated for the VM: the only host key accepted. */
  readonly hostPublicKey: string;
  /**
   * The agent root as an absolute path on the VM. Omitted: the login directory (commands run
   * there and SFTP paths are relative to it, as on the local CPI's VMs).
   */
  readonly root?: string;
  /** How the VM is named in errors and logs, e.g. `master/0 (vm-1234)`. */
  readonly name?: string;
}

export interface AgentClientOptions {
  /** The director's private key. A secret. */
  readonly privateKey: string;
  readonly connectTimeoutMs?: number;
  /** Default per-command timeout (run_errand, drain and stop may run long: pass their own). */
  readonly commandTimeoutMs?: number;
  /** Channels open at once per connection. */
  readonly maxChannels?: number;
  /** The Node.js command on the VM. */
  readonly nodeCommand?: string;
  /** Bounds commands across every VM of a pool. */
  readonly concurrency?: Semaphore;
  /** Receives one line per command or upload; never request content. */
  readonly log?: (line: string) => void;
}

/** Makes the transport to one endpoint (ssh2 in production: see ssh-transport.ts). */
export type AgentConnector = (
  endpoint: AgentEndpoint,
  /** `signal` aborts a connection still in its handshake (the client was closed meanwhile). */
  opts: Required<Pick<AgentClientOptions, 'privateKey' | 'connectTimeoutMs' | 'maxChannels'>> & {
    vm: string;
    signal?: AbortSignal;
  },
) => Promise<AgentTransport>;

export interface UploadedBlob {
  /** Path relative to the agent root, e.g. `bosh/blobs/<sha256>`. */
  readonly path: string;
  readonly sha256: string;
  /** false when the VM already had it. */
  readonly uploaded: boolean;
}

export interface BootstrapResult {
  readonly agent: UploadedBlob;
  readonly settings: UploadedBlob;
}

/** Counters, for tests and task logs. */
export interface AgentClientStats {
  readonly connections: number;
  readonly uploads: number;
  readonly bytesUploaded: number;
  readonly commands: number;
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function tail(text: string): string {
  const t = text.trim();
  return t.length > 300 ? `…${t.slice(-300)}` : t;
}

/** One VM's agent. Reuses one SSH connection (reconnecting if it drops) until `close()`. */
export class AgentClient {
  private connection: Promise<AgentTransport> | undefined;
  /** Aborts the connection being made, if any (a VM that accepts TCP but never answers). */
  private connecting: AbortController | undefined;
  private counters = { connections: 0, uploads: 0, bytesUploaded: 0, commands: 0 };
  readonly vm: string;

  constructor(
    readonly endpoint: AgentEndpoint,
    private readonly options: AgentClientOptions,
    private readonly connector: AgentConnector,
  ) {
    this.vm = endpoint.name ?? `${endpoint.host}:${endpoint.port}`;
  }

  get stats(): AgentClientStats {
    return { ...this.counters };
  }

  private log(line: string): void {
    this.options.log?.(`agent ${this.vm}: ${line}`);
  }

  private transport(): Promise<AgentTransport> {
    if (this.connection !== undefined) {
      const current = this.connection;
      return current.then((t) => {
        if (!t.closed) return t;
        if (this.connection === current) this.connection = undefined;
        return this.transport();
      });
    }
    this.counters.connections++;
    const ac = new AbortController();
    const made = this.connector(this.endpoint, {
      privateKey: this.options.privateKey,
      connectTimeoutMs: this.options.connectTimeoutMs ?? 20_000,
      maxChannels: this.options.maxChannels ?? 4,
      vm: this.vm,
      signal: ac.signal,
    });
    this.connection = made;
    this.connecting = ac;
    const settled = () => {
      if (this.connecting === ac) this.connecting = undefined;
    };
    made.then(settled, () => {
      settled();
      if (this.connection === made) this.connection = undefined;
    });
    return made;
  }

  /** A path on the VM for a path relative to the agent root. */
  remotePath(rel: string): string {
    return this.endpoint.root === undefined ? rel : posix.join(this.endpoint.root, rel);
  }

  private commandLine(command: AgentCommand): string {
    const node = this.options.nodeCommand ?? 'node';
    const root = this.endpoint.root;
    // --cancel-on-eof: the request is the first stdin line and stdin stays open; when the channel
    // closes early (timeout, lost connection) the agent stops what the command started.
    return `${shellQuote(node)} ${shellQuote(this.remotePath('bosh/agent.cjs'))} ${command} --cancel-on-eof${root === undefined ? '' : ` --root ${shellQuote(root)}`}`;
  }

  /** Runs one agent command; rejects with AgentCommandError carrying the agent's error. */
  async call<C extends AgentCommand>(
    command: C,
    request: AgentCommands[C]['request'],
    opts: { readonly timeoutMs?: number; readonly onEvent?: (event: AgentEvent) => void } = {},
  ): Promise<AgentCommands[C]['value']> {
    const run = async (): Promise<AgentCommands[C]['value']> => {
      const transport = await this.transport();
      this.counters.commands++;
      let response: AgentResponse | undefined;
      let garbage = '';
      const outcome = await transport.exec(
        this.commandLine(command),
        `${JSON.stringify(request)}\n`,
        (line) => {
          if (line.trim() === '') return;
          let parsed: unknown;
          try {
            parsed = JSON.parse(line);
          } catch {
            if (garbage.length < 300) garbage += `${line}\n`;
            return;
          }
          if (parsed !== null && typeof parsed === 'object' && 'ok' in parsed) response = parsed as AgentResponse;
          else if (parsed !== null && typeof parsed === 'object' && 'stream' in parsed)
            opts.onEvent?.(parsed as AgentEvent);
        },
        opts.timeoutMs ?? this.options.commandTimeoutMs ?? 300_000,
      );
      if (response === undefined) {
        const why = `no response (exit ${outcome.code ?? outcome.signal}): ${tail(outcome.stderr || garbage) || 'no output'}`;
        this.log(`${command} failed: ${why}`);
        throw new AgentCommandError(this.vm, command, 'no_response', why);
      }
      if (!response.ok) {
        this.log(`${command} failed (${response.error.kind})`);
        throw new AgentCommandError(this.vm, command, response.error.kind, response.error.message);
      }
      this.log(`${command} ok`);
      return response.value as AgentCommands[C]['value'];
    };
    return this.options.concurrency === undefined ? run() : this.options.concurrency.run(run);
  }

  ping(): Promise<PingValue> {
    return this.call('ping', {});
  }

  /** Installs the jobs; the same jobs twice change nothing and restart nothing. */
  apply(jobs: readonly JobSpec[]): Promise<ApplyValue> {
    return this.call('apply', { jobs });
  }

  getState(opts: { readonly vitals?: boolean } = {}): Promise<AgentStateValue> {
    return this.call('get_state', { vitals: opts.vitals === true });
  }

  start(opts: { readonly timeoutSeconds?: number } = {}): Promise<AgentStateValue> {
    return this.call('start', opts);
  }

  stop(opts: { readonly graceSeconds?: number; readonly timeoutSeconds?: number } = {}): Promise<AgentStateValue> {
    return this.call('stop', opts, { timeoutMs: ((opts.timeoutSeconds ?? 600) + 30) * 1000 });
  }

  drain(req: DrainRequest): Promise<DrainValue> {
    return this.call('drain', req, { timeoutMs: ((req.maxWaitSeconds ?? 600) + 60) * 1000 });
  }

  mountDisk(diskCid: string, hint: { readonly path?: string; readonly device?: string }): Promise<MountDiskValue> {
    return this.call('mount_disk', { diskCid, hint });
  }

  unmountDisk(diskCid: string): Promise<UnmountDiskValue> {
    return this.call('unmount_disk', { diskCid });
  }

  /** Copies the data of `fromCid` (at store/) onto `toCid` (mounted second, at store_migration_target/) and puts `toCid` at store/. */
  migrateDisk(fromCid: string, toCid: string): Promise<MigrateDiskValue> {
    return this.call('migrate_disk', { fromCid, toCid }, { timeoutMs: 6 * 3600 * 1000 });
  }

  runScript(name: ScriptName, opts: { readonly timeoutSeconds?: number } = {}): Promise<RunScriptValue> {
    return this.call('run_script', { name, ...opts }, { timeoutMs: ((opts.timeoutSeconds ?? 600) + 30) * 1000 });
  }

  /** Runs the errand, handing its output to `onOutput` as it arrives. */
  runErrand(
    job: string,
    opts: {
      readonly args?: readonly string[];
      readonly timeoutSeconds?: number;
      readonly onOutput?: (stream: 'stdout' | 'stderr', data: string) => void;
    } = {},
  ): Promise<RunErrandValue> {
    return this.call(
      'run_errand',
      {
        job,
        ...(opts.args === undefined ? {} : { args: opts.args }),
        ...(opts.timeoutSeconds === undefined ? {} : { timeoutSeconds: opts.timeoutSeconds }),
      },
      {
        timeoutMs: ((opts.timeoutSeconds ?? 3600) + 30) * 1000,
        onEvent: (e) => {
          if (e.stream !== 'data') opts.onOutput?.(e.stream, e.data);
        },
      },
    );
  }

  /** The .tgz of the VM's sys/log (or of some jobs' folders), checked against the agent's sha256. */
  async fetchLogs(
    opts: { readonly jobs?: readonly string[] } = {},
  ): Promise<{ readonly tgz: Buffer } & FetchLogsValue> {
    const chunks: Buffer[] = [];
    const value = await this.call('fetch_logs', opts.jobs === undefined ? {} : { jobs: opts.jobs }, {
      onEvent: (e) => {
        if (e.stream === 'data') chunks.push(Buffer.from(e.base64, 'base64'));
      },
    });
    const tgz = Buffer.concat(chunks);
    const sha = createHash('sha256').update(tgz).digest('hex');
    if (sha !== value.sha256 || tgz.length !== value.bytes) {
      throw new AgentCommandError(
        this.vm,
        'fetch_logs',
        'internal',
        `the logs arrived damaged (${tgz.length} of ${value.bytes} bytes)`,
      );
    }
    return { tgz, ...value };
  }

  /**
   * Uploads `data` to bosh/blobs/<sha256> unless the VM already has it (same name, same size):
   * written under a temporary name, then renamed, so a blob is whole or absent.
   */
  async uploadBlob(data: Buffer): Promise<UploadedBlob> {
    const sha256 = createHash('sha256').update(data).digest('hex');
    const rel = `bosh/blobs/${sha256}`;
    const transport = await this.transport();
    const path = this.remotePath(rel);
    const existing = await transport.stat(path);
    if (existing !== undefined && !existing.isDirectory && existing.size === data.length)
      return { path: rel, sha256, uploaded: false };
    await transport.mkdirp(this.remotePath('bosh/blobs'));
    const part = `${path}.part-${randomBytes(6).toString('hex')}`;
    await transport.writeFile(part, data, 0o600);
    if (existing !== undefined) await transport.unlink(path);
    await transport.rename(part, path);
    this.counters.uploads++;
    this.counters.bytesUploaded += data.length;
    this.log(`uploaded blob ${sha256.slice(0, 12)} (${data.length} bytes)`);
    return { path: rel, sha256, uploaded: true };
  }

  /**
   * Points each `rel` (under the root) at its blob, unless it already does. The links are made by
   * `ln -s` + `mv` (atomic rename) over exec rather than SFTP SYMLINK, whose argument order
   * differs between servers.
   */
  private async link(links: readonly (readonly [string, UploadedBlob])[]): Promise<void> {
    const transport = await this.transport();
    const steps: string[] = [];
    for (const [rel, blob] of links) {
      const target = posix.relative(posix.dirname(rel), blob.path);
      if ((await transport.readlink(this.remotePath(rel))) === target) continue;
      const tmp = `${posix.dirname(rel)}/.${posix.basename(rel)}.new`;
      steps.push(`ln -sfn ${shellQuote(target)} ${shellQuote(tmp)}`, `mv -f ${shellQuote(tmp)} ${shellQuote(rel)}`);
    }
    if (steps.length === 0) return;
    const cd = this.endpoint.root === undefined ? '' : `cd ${shellQuote(this.endpoint.root)} && `;
    const outcome = await transport.exec(
      `${cd}${steps.join(' && ')}`,
      '',
      () => undefined,
      this.options.connectTimeoutMs ?? 20_000,
    );
    if (outcome.code !== 0)
      throw new AgentCommandError(
        this.vm,
        'bootstrap',
        'internal',
        `linking the agent's files failed (exit ${outcome.code ?? outcome.signal}): ${tail(outcome.stderr)}`,
      );
  }

  /**
   * Installs the agent bundle and the VM's settings (bosh/agent.cjs, bosh/settings.json as links
   * to content-addressed blobs); nothing the VM already has is sent again. Then pings the agent.
   */
  async bootstrap(agentBundle: Buffer, settings: AgentSettingsFile): Promise<BootstrapResult> {
    const agent = await this.uploadBlob(agentBundle);
    const settingsBlob = await this.uploadBlob(Buffer.from(`${JSON.stringify(settings, null, 2)}\n`));
    await this.link([
      ['bosh/agent.cjs', agent],
      ['bosh/settings.json', settingsBlob],
    ]);
    const pong = await this.ping();
    if (pong.agentId !== settings.agentId) {
      throw new AgentCommandError(
        this.vm,
        'ping',
        'internal',
        `the agent reports agent id '${pong.agentId}', expected '${settings.agentId}'`,
      );
    }
    return { agent, settings: settingsBlob };
  }

  /** Closes the connection; a later call reconnects. */
  async close(): Promise<void> {
    const conn = this.connection;
    this.connection = undefined;
    // A handshake still under way ends now rather than at its timeout.
    this.connecting?.abort();
    this.connecting = undefined;
    if (conn === undefined) return;
    try {
      (await conn).close();
    } catch {
      // never connected
    }
  }
}
