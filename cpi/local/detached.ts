import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(import.meta.url);
const underTsx = here.endsWith('.ts');

/** The node argv that runs one of this folder's entry scripts (compiled .js, or .ts under tsx). */
export function entryArgv(name: 'vm-host' | 'lb-proxy'): string[] {
  const script = join(dirname(here), `${name}${underTsx ? '.ts' : '.js'}`);
  return underTsx ? ['--import', import.meta.resolve('tsx'), script] : [script];
}

/** Whether `cmdline` (from /proc) runs entry script `name` for `dir`. */
export function runsEntry(cmdline: readonly string[] | undefined, name: 'vm-host' | 'lb-proxy', dir: string): boolean {
  if (cmdline === undefined) return false;
  return cmdline.some((a) => a.endsWith(`/${name}.js`) || a.endsWith(`/${name}.ts`)) && cmdline.includes(dir);
}

/** iproute2's `ip`, which runs a command in a named network namespace. */
const IP = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'].find((p) => existsSync(p)) ?? 'ip';

export interface DetachedProcess {
  readonly pid: number;
  /** Resolves with the exit code if the process exits while we still watch it. */
  readonly exited: Promise<number | null>;
  /** Stop watching (the process lives on). */
  release(): void;
}

/**
 * Starts an entry script as a detached process in its own session, stdout/stderr appended to
 * `logFile`, so it outlives the CLI that started it.
 */
export function spawnDetached(
  name: 'vm-host' | 'lb-proxy',
  args: readonly string[],
  opts: {
    readonly logFile: string;
    readonly cwd: string;
    readonly env: Readonly<Record<string, string>>;
    /** A network namespace (`ip netns`) to run it in; `ip netns exec` execs it, so the pid stays its own. */
    readonly netns?: string;
  },
): DetachedProcess {
  const fd = openSync(opts.logFile, 'a', 0o600);
  try {
    const argv = [...entryArgv(name), ...args];
    const [command, commandArgs] =
      opts.netns === undefined
        ? [process.execPath, argv]
        : [IP, ['netns', 'exec', opts.netns, process.execPath, ...argv]];
    const child = spawn(command, commandArgs, {
      cwd: opts.cwd,
      env: opts.env,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    let onExit: (code: number | null) => void = () => undefined;
    const exited = new Promise<number | null>((resolve) => {
      onExit = resolve;
    });
    child.once('exit', (code) => onExit(code));
    child.once('error', () => onExit(null));
    if (child.pid === undefined) throw new Error(`could not start ${name}`);
    return {
      pid: child.pid,
      exited,
      release: () => {
        child.unref();
      },
    };
  } finally {
    closeSync(fd);
  }
}
