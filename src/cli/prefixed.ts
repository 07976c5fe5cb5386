import { Writable } from 'node:stream';

/**
 * A stream that writes each line to `target` behind `prefix` (`worker/uuid (0): stdout | `), as
 * bosh-cli prints `ssh -c` on several instances; a last line without a newline is written on end.
 */
export function prefixedLines(target: NodeJS.WritableStream, prefix: string): Writable {
  let partial = '';
  return new Writable({
    write(chunk: Buffer | string, _enc, done) {
      const text = partial + chunk.toString();
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) target.write(`${prefix}${l}\n`);
      done();
    },
    final(done) {
      if (partial) target.write(`${prefix}${partial}\n`);
      partial = '';
      done();
    },
  });
}

/** A stream that keeps what is written, for `ssh -r`'s results table. */
export function collected(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  return {
    stream: new Writable({
      write(chunk: Buffer | string, _enc, done) {
        chunks.push(chunk.toString());
        done();
      },
    }),
    text: () => chunks.join(''),
  };
}
