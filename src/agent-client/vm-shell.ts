// SSH to an instance's VM as a person would: a command with its output, or an interactive
// shell. The same strict host-key check as the agent's connection (the key the director made).
import ssh2 from 'ssh2';
import type { Readable, Writable } from 'node:stream';
import { connectSsh } from './ssh-transport.js';
import { parseSshPublicKey } from '../crypto/ssh-keys.js';
import { DirectorError } from '../errors.js';

export interface VmEndpoint {
  readonly host: string;
  readonly port: number;
  readonly hostPublicKey: string;
  /** The director's private key. A secret. */
  readonly privateKey: string;
  /** How the VM is named in errors: `master/uuid`. */
  readonly name: string;
}

/** Runs `command` on the VM, copying its stdout and stderr; resolves with its exit code. */
export async function execOnVm(vm: VmEndpoint, command: string, out: Writable, err: Writable, timeoutMs = 600_000): Promise<number> {
  const transport = await connectSsh({ host: vm.host, port: vm.port, username: 'vcap', privateKey: vm.privateKey, hostPublicKey: vm.hostPublicKey, connectTimeoutMs: 20_000, maxChannels: 1, vm: vm.name });
  try {
    const outcome = await transport.exec(command, '', (line) => out.write(`${line}\n`), timeoutMs);
    if (outcome.stderr) err.write(outcome.stderr.endsWith('\n') ? outcome.stderr : `${outcome.stderr}\n`);
    return outcome.code ?? 128;
  } finally {
    transport.close();
  }
}

/**
 * An interactive shell on the VM, wired to the given streams; a pty when `tty` says the terminal
 * has a size. Resolves with the shell's exit code when it ends.
 */
export function shellOnVm(vm: VmEndpoint, io: { readonly stdin: Readable; readonly stdout: Writable; readonly stderr: Writable; readonly tty?: { rows: number; cols: number; term: string } }): Promise<number> {
  const expected = parseSshPublicKey(vm.hostPublicKey);
  const client = new ssh2.Client();
  return new Promise((resolve, reject) => {
    client.once('ready', () => {
      client.shell(io.tty ? { rows: io.tty.rows, cols: io.tty.cols, term: io.tty.term } : false, (e, stream) => {
        if (e) {
          client.end();
          reject(new DirectorError(`Opening a shell on ${vm.name}`, { cause: e }));
          return;
        }
        let code = 0;
        io.stdin.pipe(stream);
        stream.pipe(io.stdout, { end: false });
        stream.stderr.pipe(io.stderr, { end: false });
        stream.on('exit', (c: number | null) => (code = c ?? 0));
        stream.on('close', () => {
          io.stdin.unpipe(stream);
          client.end();
          resolve(code);
        });
      });
    });
    client.once('error', (e) => reject(new DirectorError(`Connecting to ${vm.name}`, { cause: e })));
    client.connect({
      host: vm.host,
      port: vm.port,
      username: 'vcap',
      privateKey: vm.privateKey,
      readyTimeout: 20_000,
      hostVerifier: (key: Buffer) => key.equals(expected.blob),
    });
  });
}
