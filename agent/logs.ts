// fetch_logs: a gzipped tar of sys/log (or some jobs' folders), streamed in chunks.
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createGzip } from 'node:zlib';
import { AgentFailure } from './failure.js';
import type { AgentLayout } from './layout.js';
import type { FetchLogsRequest, FetchLogsValue } from './protocol.js';
import type { TarEntry } from './tar.js';
import { tarEnd, tarEntryBlocks } from './tar.js';

function* walk(base: string, dir: string): Generator<TarEntry> {
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name);
    const st = lstatSync(full);
    const path = `log/${relative(base, full).split('\\').join('/')}`;
    const mtime = Math.floor(st.mtimeMs / 1000);
    if (st.isDirectory()) {
      yield { path, type: 'dir', mode: st.mode, mtime };
      yield* walk(base, full);
    } else if (st.isSymbolicLink()) {
      yield { path, type: 'symlink', mode: st.mode, mtime, linkname: readlinkSync(full) };
    } else if (st.isFile()) {
      yield { path, type: 'file', mode: st.mode, mtime, data: readFileSync(full) };
    }
  }
}

export async function fetchLogs(
  layout: AgentLayout,
  req: FetchLogsRequest,
  emit: (chunk: Buffer) => void,
): Promise<FetchLogsValue> {
  const jobs = req?.jobs;
  if (
    jobs !== undefined &&
    (!Array.isArray(jobs) || jobs.some((j) => typeof j !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(j)))
  ) {
    throw new AgentFailure('bad_request', 'fetch_logs: jobs must be a list of job names');
  }
  const gzip = createGzip();
  const hash = createHash('sha256');
  let bytes = 0;
  let files = 0;
  const done = new Promise<void>((resolve, reject) => {
    gzip.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      bytes += chunk.length;
      emit(chunk);
    });
    gzip.on('end', resolve);
    gzip.on('error', reject);
  });
  const write = (b: Buffer): Promise<void> => new Promise((r) => (gzip.write(b) ? r() : gzip.once('drain', () => r())));
  const roots =
    jobs === undefined ? [layout.logDir] : jobs.map((j) => layout.jobLogDir(j)).filter((d) => existsSync(d));
  await write(
    tarEntryBlocks({ path: 'log', type: 'dir', mode: 0o755, mtime: Math.floor(Date.now() / 1000) }).reduce((a, b) =>
      Buffer.concat([a, b]),
    ),
  );
  for (const root of roots) {
    if (!existsSync(root)) continue;
    const entries =
      root === layout.logDir
        ? walk(layout.logDir, root)
        : (function* () {
            const st = lstatSync(root);
            yield {
              path: `log/${relative(layout.logDir, root)}`,
              type: 'dir',
              mode: st.mode,
              mtime: Math.floor(st.mtimeMs / 1000),
            } as TarEntry;
            yield* walk(layout.logDir, root);
          })();
    for (const entry of entries) {
      if (entry.type === 'file') files++;
      for (const block of tarEntryBlocks(entry)) await write(block);
    }
  }
  await write(tarEnd());
  gzip.end();
  await done;
  return { bytes, sha256: hash.digest('hex'), files };
}
