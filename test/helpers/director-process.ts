import { spawn, type ChildProcess } from 'node:child_process';
import { IP_COMMAND } from './netns.js';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const fromDist = here.includes(`${join('dist', 'test')}`);
/** The repository root, whether tests run from dist/ or from source under tsx. */
export const repoRoot = fromDist ? join(here, '..', '..', '..') : join(here, '..', '..');

/** The argv that runs the director CLI as a separate process, built or from source. */
export function directorArgv(args: readonly string[]): string[] {
  if (fromDist) return [join(repoRoot, 'bin', 'director.js'), ...args];
  return ['--import', 'tsx', join(repoRoot, 'test', 'helpers', 'director-entry.ts'), ...args];
}

export interface DirectorRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Starts the CLI as a child process (its own process group, so it can be killed whole). When
 * `env` names DIRECTOR_TEST_NETNS (a test world's director namespace), it runs in that network
 * namespace (`ip netns exec` execs it: the child's pid is the CLI's).
 */
export function startDirector(
  args: readonly string[],
  env: Record<string, string>,
  cwd = repoRoot,
  input?: string,
): { child: ChildProcess; done: Promise<DirectorRun>; stdout: () => string } {
  const netns = env['DIRECTOR_TEST_NETNS'];
  const [command, argv] =
    netns === undefined
      ? [process.execPath, directorArgv(args)]
      : [IP_COMMAND ?? 'ip', ['netns', 'exec', netns, process.execPath, ...directorArgv(args)]];
  const child = spawn(command, argv, {
    cwd,
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env },
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  if (input !== undefined) child.stdin!.end(input);
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const done = new Promise<DirectorRun>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout: out, stderr: err })),
  );
  return { child, done, stdout: () => out };
}

/** Runs the CLI to its end; `input`, when given, is its stdin (then closed). */
export async function runDirector(
  args: readonly string[],
  env: Record<string, string>,
  cwd = repoRoot,
  input?: string,
): Promise<DirectorRun> {
  return startDirector(args, env, cwd, input).done;
}
