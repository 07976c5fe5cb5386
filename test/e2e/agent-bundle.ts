// The agent bundle for tests: dist/agent/agent.cjs when it is newer than every agent source,
// else built on the fly with esbuild's JS API into a temp dir.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface AgentBundle {
  readonly path: string;
  readonly bytes: Buffer;
  /** Removes the temp build, if one was made. */
  cleanup(): Promise<void>;
}

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (
      existsSync(pkg) &&
      (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'director' &&
      existsSync(join(dir, 'agent'))
    )
      return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the repository root (package.json of director)');
    dir = up;
  }
}

export async function agentBundle(): Promise<AgentBundle> {
  const root = repoRoot();
  const sources = readdirSync(join(root, 'agent')).filter((f) => f.endsWith('.ts'));
  const newest = Math.max(...sources.map((f) => statSync(join(root, 'agent', f)).mtimeMs));
  const dist = join(root, 'dist', 'agent', 'agent.cjs');
  if (existsSync(dist) && statSync(dist).mtimeMs >= newest) {
    return { path: dist, bytes: await readFile(dist), cleanup: async () => undefined };
  }
  const dir = await mkdtemp(join(tmpdir(), 'agent-bundle-'));
  const out = join(dir, 'agent.cjs');
  const { build } = await import('esbuild');
  await build({
    entryPoints: [join(root, 'agent', 'main.ts')],
    bundle: true,
    platform: 'node',
    target: 'node18',
    format: 'cjs',
    outfile: out,
    logLevel: 'silent',
  });
  return { path: out, bytes: await readFile(out), cleanup: () => rm(dir, { recursive: true, force: true }) };
}
