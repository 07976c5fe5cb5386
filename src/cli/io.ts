import type { Writable, Readable } from 'node:stream';

/**
 * What a command may touch of the outside world. The composition root (main) builds the real
 * one; tests build one with captured streams and their own env, so commands run in-process.
 */
export interface CliIo {
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly stdin: Readable;
  /** The environment variables the command may read (`--vars-env`, `DIRECTOR_*`). */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** True when stdin is a terminal a person can answer prompts on. */
  readonly interactive: boolean;
}

export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    // process.stdin builds its stream (for a pipe: net, child_process, readline) on first use:
    // only commands that read it, or ask whether it is a terminal, pay for that.
    get stdin() {
      return process.stdin;
    },
    env: process.env,
    cwd: process.cwd(),
    get interactive() {
      return Boolean(process.stdin.isTTY);
    },
  };
}
