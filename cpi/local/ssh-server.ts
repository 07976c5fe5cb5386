import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import ssh2 from 'ssh2';
import type { Connection, ServerChannel, Session } from 'ssh2';
import { parseSshPublicKey } from '../../src/crypto/ssh-keys.js';
import { serveSftp } from './sftp-server.js';

export interface VmSshServerOptions {
  /** The VM's host key (OpenSSH or PEM). */
  readonly hostPrivateKey: string;
  /** OpenSSH public key lines allowed to log in. */
  readonly authorizedKeys: readonly string[];
  /** The VM root: cwd and HOME of every command, root of the SFTP chroot. */
  readonly root: string;
  /** The environment of every command (PATH, DIRECTOR_VM_ID, ...); HOME is set to `root`. */
  readonly env: Readonly<Record<string, string>>;
  /** Loopback addresses to listen on, all on `port`. */
  readonly addresses: readonly string[];
  readonly port: number;
  readonly log: (line: string) => void;
}

export interface VmSshServer {
  close(): Promise<void>;
}

/** Environment variables a client may set with an `env` request (like sshd's AcceptEnv). */
const ACCEPTED_ENV = /^(LANG|LC_[A-Z]+|TERM|[A-Z][A-Z0-9_]*)$/;

function runCommand(
  channel: ServerChannel,
  args: readonly string[],
  opts: VmSshServerOptions,
  env: Record<string, string>,
): ChildProcess {
  // Like sshd, each command leads its own session, so a signal reaches its whole process group.
  const child = spawn('/bin/sh', args, {
    cwd: opts.root,
    env: { ...env, ...opts.env, HOME: opts.root },
    stdio: 'pipe',
    detached: true,
  });
  let channelOpen = true;
  channel.pipe(child.stdin);
  child.stdin.on('error', () => undefined);
  child.stdout.on('data', (d: Buffer) => channelOpen && channel.write(d));
  child.stderr.on('data', (d: Buffer) => channelOpen && channel.stderr.write(d));
  channel.on('close', () => {
    // Like sshd without a pty: the command keeps running, its output goes nowhere.
    channelOpen = false;
  });
  channel.on('error', () => undefined);
  child.on('error', (err) => {
    if (!channelOpen) return;
    channel.stderr.write(`${err.message}\n`);
    channel.exit(127);
    channel.end();
  });
  child.on('close', (code, signal) => {
    if (!channelOpen) return;
    if (signal !== null) channel.exit(signal.replace(/^SIG/, ''), false, '');
    else channel.exit(code ?? 0);
    channel.end();
  });
  return child;
}

/** util-linux's script(1): runs a command on a new pseudo-terminal (Node has no pty of its own). */
const SCRIPT = ['/usr/bin/script', '/bin/script'].find((p) => existsSync(p));

/**
 * The arguments of /bin/sh for an interactive shell: on a pty of its own when the client asked
 * for one and script(1) exists (so the terminal echoes, turns Enter into a newline and Ctrl-C
 * into SIGINT, as a real VM's sshd does), sized as the client said; else a plain `sh -i`.
 */
function shellArgs(pty: { rows: number; cols: number } | undefined): string[] {
  if (pty === undefined || SCRIPT === undefined) return ['-i'];
  const size =
    pty.rows > 0 && pty.cols > 0 ? `stty rows ${Math.floor(pty.rows)} cols ${Math.floor(pty.cols)} 2>/dev/null; ` : '';
  return ['-c', `exec ${SCRIPT} -qfec '${size}exec /bin/sh -i' /dev/null`];
}

function serveSession(session: Session, opts: VmSshServerOptions): void {
  const env: Record<string, string> = {};
  let child: ChildProcess | undefined;
  let pty: { rows: number; cols: number } | undefined;
  session.on('env', (accept, reject, info) => {
    if (ACCEPTED_ENV.test(info.key) && !(info.key in opts.env) && info.key !== 'HOME') {
      env[info.key] = info.val;
      accept?.();
    } else reject?.();
  });
  session.on('pty', (accept, _reject, info) => {
    pty = { rows: info.rows, cols: info.cols };
    if (typeof info.term === 'string' && info.term !== '') env['TERM'] = info.term;
    accept?.();
  });
  session.on('window-change', (accept) => accept?.());
  session.on('signal', (accept, reject, info) => {
    if (child === undefined) return reject?.();
    try {
      if (child.pid === undefined) throw new Error('not started');
      process.kill(-child.pid, `SIG${info.name}` as NodeJS.Signals);
      accept?.();
    } catch {
      reject?.();
    }
  });
  session.on('exec', (accept, _reject, info) => {
    child = runCommand(accept(), ['-c', info.command], opts, env);
  });
  session.on('shell', (accept) => {
    child = runCommand(accept(), shellArgs(pty), opts, env);
  });
  session.on('sftp', (accept) => serveSftp(accept(), opts.root));
}

/**
 * A direct-tcpip channel (RFC 4254 §7.2): the client asks the VM to open a TCP connection, as
 * OpenSSH's sshd allows by default (AllowTcpForwarding yes). A jumpbox is a VM used this way.
 */
function serveTcpip(
  accept: () => ServerChannel,
  reject: () => void,
  info: { destIP: string; destPort: number },
  log: (line: string) => void,
): void {
  const socket = connect(info.destPort, info.destIP);
  socket.once('error', (err) => {
    log(`forwarding to ${info.destIP}:${info.destPort}: ${err.message}`);
    reject();
  });
  socket.once('connect', () => {
    const channel = accept();
    socket.removeAllListeners('error');
    socket.on('error', () => channel.destroy());
    channel.on('error', () => socket.destroy());
    channel.pipe(socket).pipe(channel);
  });
}

/**
 * The SSH server of a local VM: publickey authentication against `authorizedKeys` only (the
 * signature is verified), the director-generated host key, exec/shell streamed through
 * `/bin/sh` with exit codes and signals, SFTP chrooted to the VM root, and TCP forwarding.
 */
export async function startVmSshServer(opts: VmSshServerOptions): Promise<VmSshServer> {
  const allowed = opts.authorizedKeys.map((line) => ({
    blob: parseSshPublicKey(line).blob,
    key: ssh2.utils.parseKey(line),
  }));
  const connections = new Set<Connection>();
  const onConnection = (client: Connection): void => {
    client.on('error', (err) => opts.log(`connection error: ${err.message}`));
    client.on('authentication', (ctx) => {
      if (ctx.method !== 'publickey') return ctx.reject(['publickey']);
      const match = allowed.find((a) => a.blob.equals(ctx.key.data));
      if (match === undefined || match.key instanceof Error) return ctx.reject(['publickey']);
      if (ctx.signature === undefined) return ctx.accept();
      const key = Array.isArray(match.key) ? match.key[0] : match.key;
      if (ctx.blob !== undefined && key.verify(ctx.blob, ctx.signature, ctx.hashAlgo) === true) return ctx.accept();
      opts.log(`rejected a bad signature from ${ctx.username}`);
      ctx.reject(['publickey']);
    });
    client.on('ready', () => {
      client.on('session', (accept) => serveSession(accept(), opts));
      client.on('tcpip', (accept, reject, info) => serveTcpip(accept, reject, info, opts.log));
    });
    connections.add(client);
    client.on('close', () => connections.delete(client));
  };
  const servers: ssh2.Server[] = [];
  try {
    for (const address of opts.addresses) {
      const server = new ssh2.Server({ hostKeys: [opts.hostPrivateKey] }, onConnection);
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(opts.port, address, () => {
          server.off('error', reject);
          resolve();
        });
      });
    }
  } catch (err) {
    for (const s of servers) s.close();
    throw err;
  }
  return {
    close: async () => {
      // like a machine going down: its connections end with it
      for (const c of connections) c.end();
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    },
  };
}
