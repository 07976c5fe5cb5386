import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import https from 'node:https';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';

// The standalone entry point: prints endpoint, CA file, authority host and request-log path,
// answers over HTTPS with that CA, and stops cleanly on SIGTERM.

const ts = import.meta.url.endsWith('.ts');
const cli = fileURLToPath(new URL(`../../fakes/arm/cli.${ts ? 'ts' : 'js'}`, import.meta.url));

it('fake ARM CLI prints where it is and stops on SIGTERM', async () => {
  const child = spawn(process.execPath, [...(ts ? ['--import', 'tsx'] : []), cli, '--polls', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    let out = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('client secret:')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`cli exited early (${code}): ${out}`)));
    });
    const field = (name: string) => new RegExp(`${name}:\\s+(\\S+)`).exec(out)?.[1] ?? '';
    const endpoint = field('endpoint');
    const caFile = field('ca file');
    assert.match(endpoint, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(field('authority host'), endpoint);
    assert.match(field('request log'), /requests\.jsonl$/);
    const ca = readFileSync(caFile, 'utf8');
    const body = await new Promise<string>((resolve, reject) => {
      https
        .get(`${endpoint}/_fake/lro`, { ca }, (res) => {
          let t = '';
          res.on('data', (d: Buffer) => (t += d.toString()));
          res.on('end', () => resolve(t));
        })
        .on('error', reject);
    });
    assert.deepEqual(JSON.parse(body), {
      pollsBeforeDone: 0,
      retryAfterSeconds: 0,
      autoCompleteMs: 0,
      latency: 'polls',
      timeScale: 0.01,
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.equal(existsSync(caFile), false, 'its temp dir is removed on stop');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
