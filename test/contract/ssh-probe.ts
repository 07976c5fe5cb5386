import ssh2 from 'ssh2';
import type { ClientChannel, SFTPWrapper } from 'ssh2';
import { parseSshPublicKey } from '../../src/crypto/ssh-keys.js';

export interface ExecResult {
  readonly code: number | null;
  readonly signal: string | undefined;
  readonly stdout: string;
  readonly stderr: string;
}

/** A verified SSH connection to a VM, as the director makes it (no trust on first use). */
export interface SshProbe {
  exec(command: string, stdin?: string, env?: Readonly<Record<string, string>>): Promise<ExecResult>;
  /** Starts a command and hands its channel over (for signals); resolves with its result. */
  execWith(command: string, withChannel: (channel: ClientChannel) => void): Promise<ExecResult>;
  sftp(): Promise<SFTPWrapper>;
  close(): void;
}

/**
 * Connects with `privateKey` and accepts the server only if it presents `expectedHostKey` (an
 * OpenSSH public key line). Rejects on a host key mismatch or failed authentication.
 */
export function sshConnect(opts: {
  readonly host: string;
  readonly port: number;
  readonly privateKey: string;
  readonly expectedHostKey: string;
  readonly username?: string;
}): Promise<SshProbe> {
  const expected = parseSshPublicKey(opts.expectedHostKey).blob;
  const client = new ssh2.Client();
  return new Promise((resolve, reject) => {
    const run = (
      command: string,
      env: Readonly<Record<string, string>> | undefined,
      start: (stream: ClientChannel) => void,
    ): Promise<ExecResult> =>
      new Promise((res, rej) => {
        client.exec(command, { env: { ...env } }, (err, stream: ClientChannel) => {
          if (err) return rej(err);
          const out: Buffer[] = [];
          const errs: Buffer[] = [];
          let code: number | null = null;
          let signal: string | undefined;
          stream.on('data', (d: Buffer) => out.push(d));
          stream.stderr.on('data', (d: Buffer) => errs.push(d));
          stream.on('exit', (c: number | null, s?: string) => {
            code = c;
            signal = s;
          });
          stream.on('close', () =>
            res({ code, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(errs).toString() }),
          );
          start(stream);
        });
      });
    client.once('ready', () => {
      resolve({
        exec: (command, stdin, env) => run(command, env, (stream) => stream.end(stdin ?? '')),
        execWith: (command, withChannel) => run(command, undefined, withChannel),
        sftp: () => new Promise((res, rej) => client.sftp((err, sftp) => (err ? rej(err) : res(sftp)))),
        close: () => client.end(),
      });
    });
    client.once('error', (err) => {
      client.end();
      reject(err);
    });
    client.connect({
      host: opts.host,
      port: opts.port,
      username: opts.username ?? 'vcap',
      privateKey: opts.privateKey,
      hostVerifier: (key: Buffer) => key.equals(expected),
      readyTimeout: 20_000,
    });
  });
}

/** Promise forms of the SFTP calls the suite uses. */
export function sftpCalls(sftp: SFTPWrapper) {
  const p = <T>(fn: (cb: (err: Error | null | undefined, v: T) => void) => void): Promise<T> =>
    new Promise((res, rej) => fn((err, v) => (err ? rej(err) : res(v))));
  return {
    writeFile: (path: string, data: string | Buffer) =>
      p<void>((cb) => sftp.writeFile(path, data, (err) => cb(err, undefined))),
    readFile: (path: string) => p<Buffer>((cb) => sftp.readFile(path, (err, data) => cb(err, data))),
    stat: (path: string) => p<ssh2.Stats>((cb) => sftp.stat(path, cb)),
    readdir: (path: string) => p<ssh2.FileEntryWithStats[]>((cb) => sftp.readdir(path, cb)),
    mkdir: (path: string) => p<void>((cb) => sftp.mkdir(path, (err) => cb(err, undefined))),
    rmdir: (path: string) => p<void>((cb) => sftp.rmdir(path, (err) => cb(err, undefined))),
    unlink: (path: string) => p<void>((cb) => sftp.unlink(path, (err) => cb(err, undefined))),
    rename: (from: string, to: string) => p<void>((cb) => sftp.rename(from, to, (err) => cb(err, undefined))),
    chmod: (path: string, mode: number) => p<void>((cb) => sftp.chmod(path, mode, (err) => cb(err, undefined))),
    realpath: (path: string) => p<string>((cb) => sftp.realpath(path, cb)),
    fastPut: (local: string, remote: string) =>
      p<void>((cb) => sftp.fastPut(local, remote, (err) => cb(err, undefined))),
    fastGet: (remote: string, local: string) =>
      p<void>((cb) => sftp.fastGet(remote, local, (err) => cb(err, undefined))),
  };
}
