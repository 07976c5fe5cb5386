// The SSH gateway (a jumpbox) through which the director reaches VMs it cannot dial itself: on
// Azure they have private addresses only and the director runs outside the virtual network. One
// SSH connection to the gateway carries every VM's connection as a direct-tcpip channel
// (RFC 4254 §7.2, what `ssh -J` and bosh-cli's --gw-host do), and the gateway's host key is
// checked as strictly as the VMs' are: the one the director generated, or the one the operator
// named, never trust on first use.
import type { Duplex } from 'node:stream';
import ssh2 from 'ssh2';
import { parseSshPublicKey, sshFingerprint } from '../crypto/ssh-keys.js';
import { AgentSocketError } from './errors.js';

export interface GatewayOptions {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  /** The key the director logs in to the gateway with. A secret: never logged, never in an error. */
  readonly privateKey: string;
  /** The OpenSSH public key line the gateway must present. */
  readonly hostPublicKey: string;
  /** Default 20 s. */
  readonly connectTimeoutMs?: number;
  /**
   * How long a failed connection to the gateway answers every VM with its error before it is
   * tried again (default 30 s): a lost gateway is one error, not one timeout per VM.
   */
  readonly retryAfterMs?: number;
  /** A monotonic clock in milliseconds (default performance.now). */
  readonly now?: () => number;
}

/** The gateway itself could not be reached, refused the director, or was lost. Names its address. */
export class GatewayError extends AgentSocketError {
  override readonly name = 'GatewayError';
  constructor(
    readonly gateway: string,
    readonly what: string,
    options?: { cause?: unknown },
  ) {
    super(`Reaching the gateway ${gateway}: ${what}`, gateway, options);
  }
}

function hostKeyAlgorithms(algorithm: string): string[] {
  if (algorithm === 'ssh-rsa') return ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
  return [algorithm];
}

/** One multiplexed SSH connection to a gateway, made on first use and again after it is lost. */
export class SshGateway {
  /** `user@host:port`, how the gateway is named in errors. */
  readonly label: string;
  private connection: Promise<ssh2.Client> | undefined;
  private failure: { readonly error: GatewayError; readonly at: number } | undefined;
  private lostError: GatewayError | undefined;
  private readonly expected: ReturnType<typeof parseSshPublicKey>;
  private readonly now: () => number;
  /** Connections the director ended itself: their close is no loss. */
  private readonly ended = new WeakSet<ssh2.Client>();
  private counter = { connections: 0, channels: 0 };

  constructor(private readonly opts: GatewayOptions) {
    this.label = `${opts.username}@${opts.host}:${opts.port}`;
    this.expected = parseSshPublicKey(opts.hostPublicKey);
    this.now = opts.now ?? (() => performance.now());
  }

  /** Connections made to the gateway and channels opened through it (for tests and logs). */
  get stats(): { readonly connections: number; readonly channels: number } {
    return { ...this.counter };
  }

  /** The error of a gateway connection that dropped, until the next one is made. */
  get lost(): GatewayError | undefined {
    return this.lostError;
  }

  /**
   * A TCP connection from the gateway to `host:port`, as a stream to hand ssh2 as `sock`.
   * Rejects with GatewayError when the gateway cannot be used, with AgentSocketError naming the
   * VM when the gateway cannot reach it.
   */
  async forward(host: string, port: number, vm: string): Promise<Duplex> {
    const client = await this.client();
    return new Promise<Duplex>((resolve, reject) => {
      // The originator address is informational (RFC 4254 §7.2); sshd logs it.
      client.forwardOut('127.0.0.1', 0, host, port, (err, channel) => {
        if (err) {
          if (this.lostError !== undefined) return reject(this.lostError);
          const reason = (err as Error & { reason?: number }).message.replace(/^\(SSH\) /, '');
          return reject(
            new AgentSocketError(
              `Connecting to ${vm} at ${host}:${port} through the gateway ${this.label}: ${reason}`,
              vm,
            ),
          );
        }
        this.counter.channels++;
        resolve(channel);
      });
    });
  }

  private client(): Promise<ssh2.Client> {
    if (this.failure !== undefined) {
      if (this.now() - this.failure.at < (this.opts.retryAfterMs ?? 30_000)) return Promise.reject(this.failure.error);
      this.failure = undefined;
    }
    if (this.connection === undefined) {
      const made = this.connect();
      this.connection = made;
      made.catch((error: GatewayError) => {
        if (this.connection === made) this.connection = undefined;
        this.failure = { error, at: this.now() };
      });
    }
    return this.connection;
  }

  private connect(): Promise<ssh2.Client> {
    this.counter.connections++;
    const client = new ssh2.Client();
    const timeoutMs = this.opts.connectTimeoutMs ?? 20_000;
    let presented: Buffer | undefined;
    return new Promise((resolve, reject) => {
      let settled = false;
      client.once('ready', () => {
        settled = true;
        this.lostError = undefined;
        const made = this.connection;
        const drop = (what: string, cause?: unknown) => {
          if (this.connection === made) this.connection = undefined;
          if (!this.ended.has(client))
            this.lostError ??= new GatewayError(this.label, what, cause === undefined ? {} : { cause });
        };
        client.on('error', (err) => drop(`the connection was lost (${err.message})`, err));
        client.on('close', () => drop('the connection was lost'));
        resolve(client);
      });
      client.on('error', (err: Error & { level?: string }) => {
        if (settled) return;
        settled = true;
        client.end();
        if (presented !== undefined && !presented.equals(this.expected.blob)) {
          reject(
            new GatewayError(
              this.label,
              `host key mismatch: expected ${this.expected.fingerprint}, the server presented ${sshFingerprint(presented)}`,
            ),
          );
        } else if (presented === undefined && /no matching host key/i.test(err.message)) {
          reject(
            new GatewayError(
              this.label,
              `host key mismatch: expected ${this.expected.fingerprint}, the server has no ${this.expected.algorithm} host key`,
            ),
          );
        } else if (err.level === 'client-authentication') {
          reject(new GatewayError(this.label, `the gateway refused the director's key for '${this.opts.username}'`));
        } else if (err.level === 'client-timeout') {
          reject(new GatewayError(this.label, `no SSH handshake within ${timeoutMs} ms`, { cause: err }));
        } else {
          reject(new GatewayError(this.label, err.message, { cause: err }));
        }
      });
      client.once('close', () => {
        if (settled) return;
        settled = true;
        reject(new GatewayError(this.label, 'the connection closed during the handshake'));
      });
      client.connect({
        host: this.opts.host,
        port: this.opts.port,
        username: this.opts.username,
        privateKey: this.opts.privateKey,
        readyTimeout: timeoutMs,
        keepaliveInterval: 15_000,
        keepaliveCountMax: 3,
        algorithms: { serverHostKey: hostKeyAlgorithms(this.expected.algorithm) as ssh2.ServerHostKeyAlgorithm[] },
        hostVerifier: (key: Buffer) => {
          presented = Buffer.from(key);
          return key.equals(this.expected.blob);
        },
      });
    });
  }

  /** Ends the connection (every channel through it closes); a later use connects again. */
  disconnect(): void {
    const conn = this.connection;
    this.connection = undefined;
    void conn?.then(
      (c) => {
        this.ended.add(c);
        c.end();
      },
      () => undefined,
    );
  }
}
