// The agent transport over ssh2: public-key login, strict host-key verification against the
// key the director generated for the VM (no trust on first use), exec, SFTP and shells; directly,
// or through a gateway's forwarded channel (gateway.ts).
import type { Readable, Writable } from 'node:stream';
import ssh2 from 'ssh2';
import type { ClientChannel, SFTPWrapper } from 'ssh2';
import { parseSshPublicKey, sshFingerprint } from '../crypto/ssh-keys.js';
import { AgentAuthError, AgentSocketError, AgentTimeoutError, HostKeyMismatchError } from './errors.js';
import type { SshGateway } from './gateway.js';
import { Semaphore } from './semaphore.js';
import type { AgentTransport, ExecOutcome, RemoteStat } from './transport.js';

export interface SshTransportOptions {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  /** The director's private key. A secret: never logged, never in an error. */
  readonly privateKey: string;
  /** The OpenSSH public key line the director generated for this VM. */
  readonly hostPublicKey: string;
  readonly connectTimeoutMs: number;
  /** Channels open at once on this connection (OpenSSH allows 10 sessions by default). */
  readonly maxChannels: number;
  /** How the VM is named in errors. */
  readonly vm: string;
  /** Aborts the handshake (AgentSocketError); a connection already made is not affected. */
  readonly signal?: AbortSignal;
  /** Reach `host:port` through this gateway (a channel of its one connection) instead of dialing it. */
  readonly gateway?: SshGateway;
}

const SFTP_NO_SUCH_FILE = 2;

function hostKeyAlgorithms(algorithm: string): string[] {
  if (algorithm === 'ssh-rsa') return ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
  return [algorithm];
}

/**
 * Connects and verifies the host key; rejects with HostKeyMismatchError, AgentAuthError,
 * AgentTimeoutError or AgentSocketError (GatewayError when the gateway is what failed).
 */
export async function connectSsh(opts: SshTransportOptions): Promise<SshTransport> {
  const sock = opts.gateway === undefined ? undefined : await opts.gateway.forward(opts.host, opts.port, opts.vm);
  const expected = parseSshPublicKey(opts.hostPublicKey);
  const client = new ssh2.Client();
  let presented: Buffer | undefined;
  const via = opts.gateway === undefined ? '' : ` through the gateway ${opts.gateway.label}`;
  return new Promise((resolve, reject) => {
    let settled = false;
    client.once('ready', () => {
      settled = true;
      resolve(new SshTransport(client, opts));
    });
    client.on('error', (err: Error & { level?: string; code?: string }) => {
      if (settled) return;
      settled = true;
      client.end();
      if (presented !== undefined && !presented.equals(expected.blob)) {
        reject(new HostKeyMismatchError(opts.vm, expected.fingerprint, sshFingerprint(presented)));
      } else if (presented === undefined && /no matching host key/i.test(err.message)) {
        // The server has no key of the expected type: it cannot be the VM the director made.
        reject(new HostKeyMismatchError(opts.vm, expected.fingerprint, `no ${expected.algorithm} host key`));
      } else if (err.level === 'client-authentication') {
        reject(
          new AgentAuthError(
            `Authenticating to ${opts.vm} as '${opts.username}': the VM refused the director's key`,
            opts.vm,
          ),
        );
      } else if (opts.gateway?.lost !== undefined) {
        reject(opts.gateway.lost);
      } else if (err.level === 'client-timeout') {
        reject(
          new AgentTimeoutError(
            `Connecting to ${opts.vm}${via}: no SSH handshake within ${opts.connectTimeoutMs} ms`,
            opts.vm,
            { cause: err },
          ),
        );
      } else {
        reject(new AgentSocketError(`Connecting to ${opts.vm}${via}`, opts.vm, { cause: err }));
      }
    });
    client.once('close', () => {
      if (settled) return;
      settled = true;
      setImmediate(() =>
        reject(
          opts.gateway?.lost ??
            new AgentSocketError(`Connecting to ${opts.vm}${via}: the connection closed during the handshake`, opts.vm),
        ),
      );
    });
    const abort = (): void => {
      if (settled) return;
      settled = true;
      client.destroy();
      sock?.destroy();
      reject(new AgentSocketError(`Connecting to ${opts.vm}: abandoned during the handshake`, opts.vm));
    };
    if (opts.signal?.aborted) return abort();
    opts.signal?.addEventListener('abort', abort, { once: true });
    client.connect({
      ...(sock === undefined ? { host: opts.host, port: opts.port } : { sock }),
      username: opts.username,
      privateKey: opts.privateKey,
      readyTimeout: opts.connectTimeoutMs,
      keepaliveInterval: 15_000,
      algorithms: { serverHostKey: hostKeyAlgorithms(expected.algorithm) as ssh2.ServerHostKeyAlgorithm[] },
      hostVerifier: (key: Buffer) => {
        presented = Buffer.from(key);
        return key.equals(expected.blob);
      },
    });
  });
}

/** The ssh2 transport of one VM: the agent's operations, plus a person's shell (`director ssh`). */
export class SshTransport implements AgentTransport {
  private isClosed = false;
  private sftpSession: Promise<SFTPWrapper> | undefined;
  private readonly channels: Semaphore;

  constructor(
    private readonly client: ssh2.Client,
    private readonly opts: SshTransportOptions,
  ) {
    this.channels = new Semaphore(opts.maxChannels);
    client.on('close', () => {
      this.isClosed = true;
    });
    client.on('error', () => {
      this.isClosed = true;
    });
  }

  get closed(): boolean {
    return this.isClosed;
  }

  exec(command: string, stdin: string, onStdoutLine: (line: string) => void, timeoutMs: number): Promise<ExecOutcome> {
    return this.channels.run(
      () =>
        new Promise<ExecOutcome>((resolve, reject) => {
          if (this.isClosed)
            return reject(
              this.opts.gateway?.lost ??
                new AgentSocketError(`Running a command on ${this.opts.vm}: the connection is closed`, this.opts.vm),
            );
          this.client.exec(command, (err, stream: ClientChannel) => {
            if (err)
              return reject(
                this.opts.gateway?.lost ??
                  new AgentSocketError(`Opening a channel to ${this.opts.vm}`, this.opts.vm, { cause: err }),
              );
            let pending = '';
            const errs: Buffer[] = [];
            let code: number | null = null;
            let signal: string | null = null;
            let done = false;
            const onClientClose = (): void => {
              if (done) return;
              done = true;
              clearTimeout(timer);
              // a gateway that dropped closes its channels first: let its own close be seen, so the error names it
              setImmediate(() =>
                reject(
                  this.opts.gateway?.lost ??
                    new AgentSocketError(`Running a command on ${this.opts.vm}: the connection closed`, this.opts.vm),
                ),
              );
            };
            this.client.once('close', onClientClose);
            const timer = setTimeout(() => {
              if (done) return;
              done = true;
              this.client.off('close', onClientClose);
              stream.close(); // the agent sees stdin end and stops what it started
              reject(
                new AgentTimeoutError(
                  `Running a command on ${this.opts.vm}: no answer within ${Math.round(timeoutMs / 1000)} s`,
                  this.opts.vm,
                ),
              );
            }, timeoutMs);
            stream.setEncoding('utf8');
            stream.on('data', (chunk: string) => {
              pending += chunk;
              let nl = pending.indexOf('\n');
              while (nl !== -1) {
                const line = pending.slice(0, nl);
                pending = pending.slice(nl + 1);
                if (!done) onStdoutLine(line);
                nl = pending.indexOf('\n');
              }
            });
            stream.stderr.on('data', (d: Buffer) => {
              if (errs.reduce((n, b) => n + b.length, 0) < 64 * 1024) errs.push(d);
            });
            stream.on('exit', (c: number | null, s?: string) => {
              code = c;
              signal = s ?? null;
            });
            stream.on('close', () => {
              if (done) return;
              done = true;
              clearTimeout(timer);
              this.client.off('close', onClientClose);
              if (pending !== '') onStdoutLine(pending);
              resolve({ code, signal, stderr: Buffer.concat(errs).toString('utf8') });
            });
            stream.write(stdin);
          });
        }),
    );
  }

  private sftp(): Promise<SFTPWrapper> {
    if (this.sftpSession === undefined) {
      this.sftpSession = new Promise((resolve, reject) =>
        this.client.sftp((err, sftp) =>
          err
            ? reject(new AgentSocketError(`Opening SFTP to ${this.opts.vm}`, this.opts.vm, { cause: err }))
            : resolve(sftp),
        ),
      );
      this.sftpSession.catch(() => (this.sftpSession = undefined));
    }
    return this.sftpSession;
  }

  private async call<T>(
    what: string,
    fn: (sftp: SFTPWrapper, cb: (err: (Error & { code?: number }) | null | undefined, v?: T) => void) => void,
  ): Promise<T> {
    const sftp = await this.sftp();
    return new Promise<T>((resolve, reject) =>
      fn(sftp, (err, v) =>
        err
          ? reject(
              Object.assign(new AgentSocketError(`${what} on ${this.opts.vm}: ${err.message}`, this.opts.vm), {
                sftpCode: err.code,
              }),
            )
          : resolve(v as T),
      ),
    );
  }

  async stat(path: string): Promise<RemoteStat | undefined> {
    try {
      const st = await this.call<ssh2.Stats>('Checking a file', (s, cb) => s.stat(path, cb));
      return { size: st.size, isDirectory: st.isDirectory() };
    } catch (err) {
      if ((err as { sftpCode?: number }).sftpCode === SFTP_NO_SUCH_FILE) return undefined;
      throw err;
    }
  }

  async mkdirp(path: string): Promise<void> {
    const parts = path.split('/');
    for (let i = 1; i <= parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (dir === '' || dir === '.') continue;
      const st = await this.stat(dir);
      if (st?.isDirectory) continue;
      await this.call<void>(`Creating folder '${dir}'`, (s, cb) => s.mkdir(dir, { mode: 0o755 }, (e) => cb(e)));
    }
  }

  writeFile(path: string, data: Buffer, mode: number): Promise<void> {
    return this.call<void>(`Uploading '${path}'`, (s, cb) => s.writeFile(path, data, { mode }, (e) => cb(e)));
  }

  rename(from: string, to: string): Promise<void> {
    return this.call<void>(`Renaming '${from}'`, (s, cb) => s.rename(from, to, (e) => cb(e)));
  }

  async readlink(path: string): Promise<string | undefined> {
    try {
      return await this.call<string>('Reading a link', (s, cb) => s.readlink(path, cb));
    } catch {
      return undefined;
    }
  }

  async unlink(path: string): Promise<void> {
    try {
      await this.call<void>(`Removing '${path}'`, (s, cb) => s.unlink(path, (e) => cb(e)));
    } catch (err) {
      if ((err as { sftpCode?: number }).sftpCode !== SFTP_NO_SUCH_FILE) throw err;
    }
  }

  /**
   * An interactive shell wired to the given streams, on a pty when `tty` gives the terminal's
   * size; resolves with its exit code when it ends.
   */
  shell(io: {
    readonly stdin: Readable;
    readonly stdout: Writable;
    readonly stderr: Writable;
    readonly tty?: { rows: number; cols: number; term: string };
  }): Promise<number> {
    return new Promise((resolve, reject) => {
      this.client.shell(io.tty ? { rows: io.tty.rows, cols: io.tty.cols, term: io.tty.term } : false, (e, stream) => {
        if (e) return reject(new AgentSocketError(`Opening a shell on ${this.opts.vm}`, this.opts.vm, { cause: e }));
        let code = 0;
        io.stdin.pipe(stream);
        stream.pipe(io.stdout, { end: false });
        stream.stderr.pipe(io.stderr, { end: false });
        stream.on('exit', (c: number | null) => (code = c ?? 0));
        stream.on('close', () => {
          io.stdin.unpipe(stream);
          resolve(code);
        });
      });
    });
  }

  close(): void {
    this.isClosed = true;
    this.client.end();
  }
}
