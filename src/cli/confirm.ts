import { createInterface } from 'node:readline';
import { DirectorError } from '../errors.js';
import type { CliIo } from './io.js';

/** The first line of `input`, or undefined when it ends before giving one. */
function firstLine(input: NodeJS.ReadableStream): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input, terminal: false });
    let done = false;
    const finish = (line: string | undefined) => {
      if (done) return;
      done = true;
      rl.close();
      resolve(line);
    };
    rl.once('line', (l) => finish(l));
    rl.once('close', () => finish(undefined));
    input.once('error', (e) => (done ? undefined : reject(e)));
  });
}

/**
 * bosh-cli's "Continue? [yN]:": true when the operator answers y or yes, or gave -n. The answer
 * is read from standard input whether or not it is a terminal, so `yes | director deploy ...`
 * proceeds and `echo n | director deploy ...` stops; an input that ends without an answer (a
 * closed or empty pipe) is refused with a pointer to -n. The question goes to `out` (stderr
 * when stdout carries --json).
 */
export async function confirm(io: CliIo, yes: boolean, out: NodeJS.WritableStream = io.stdout): Promise<boolean> {
  if (yes) return true;
  out.write('Continue? [yN]: ');
  const answer = await firstLine(io.stdin);
  if (answer === undefined) {
    out.write('\n');
    throw new DirectorError(
      "Refusing to change the deployment without confirmation: no answer on standard input (answer 'y', or run with -n)",
    );
  }
  if (!io.interactive) out.write(`${answer.trim()}\n`);
  return /^y(es)?$/i.test(answer.trim());
}
