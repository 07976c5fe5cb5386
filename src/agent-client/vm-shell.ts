// SSH to an instance's VM as a person would: a command with its output, or an interactive
// shell. The same strict host-key check as the agent's connection (the key the director made),
// and the same road: through the environment's gateway when it has one.
import type { Readable, Writable } from 'node:stream';
import { SshGateway, type GatewayOptions } from './gateway.js';
import { connectSsh, type SshTransport } from './ssh-transport.js';

export interface VmEndpoint {
  readonly host: string;
  readonly port: number;
  readonly hostPublicKey: string;
  /** The director's private key. A secret. */
  readonly privateKey: string;
  /** How the VM is named in errors: `master/uuid`. */
  readonly name: string;
  /** The gateway to reach it through (absent: dialed directly). */
  readonly gateway?: GatewayOptions;
}

async function withVm<T>(vm: VmEndpoint, work: (t: SshTransport) => Promise<T>): Promise<T> {
  const gateway = vm.gateway === undefined ? undefined : new SshGateway(vm.gateway);
  try {
    const transport = await connectSsh({
      host: vm.host,
      port: vm.port,
      username: 'vcap',
      privateKey: vm.privateKey,
      hostPublicKey: vm.hostPublicKey,
      connectTimeoutMs: 20_000,
      maxChannels: 1,
      vm: vm.name,
      ...(gateway === undefined ? {} : { gateway }),
    });
    try {
      return await work(transport);
    } finally {
      transport.close();
    }
  } finally {
    gateway?.disconnect();
  }
}

/** Runs `command` on the VM, copying its stdout and stderr; resolves with its exit code. */
export function execOnVm(
  vm: VmEndpoint,
  command: string,
  out: Writable,
  err: Writable,
  timeoutMs = 600_000,
): Promise<number> {
  return withVm(vm, async (transport) => {
    const outcome = await transport.exec(command, '', (line) => out.write(`${line}\n`), timeoutMs);
    if (outcome.stderr) err.write(outcome.stderr.endsWith('\n') ? outcome.stderr : `${outcome.stderr}\n`);
    return outcome.code ?? 128;
  });
}

/**
 * An interactive shell on the VM, wired to the given streams; a pty when `tty` says the terminal
 * has a size. Resolves with the shell's exit code when it ends.
 */
export function shellOnVm(
  vm: VmEndpoint,
  io: {
    readonly stdin: Readable;
    readonly stdout: Writable;
    readonly stderr: Writable;
    readonly tty?: { rows: number; cols: number; term: string };
  },
): Promise<number> {
  return withVm(vm, (transport) => transport.shell(io));
}
