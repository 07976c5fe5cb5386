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

/**
 * Output that survives `| head`: once the reader has gone (EPIPE), what is left to print is
 * dropped instead of crashing the command with an unhandled 'error' event, and the command still
 * finishes what it was doing (a deploy is not cut short because its log reader went away).
 */
function survivePipeClose(stream: NodeJS.WriteStream): NodeJS.WriteStream {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') return;
    throw err;
  });
  return stream;
}

export function processIo(): CliIo {
  survivePipeClose(process.stdout);
  survivePipeClose(process.stderr);
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
