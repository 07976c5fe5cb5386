// Network namespaces that give a test world Azure's walls, built with iproute2 (tests run as
// root). Nothing in them can send a packet off this machine: no namespace has a default route, and
// the only links are veth pairs between namespaces this helper made.
//
//   root namespace ── veth ── director namespace ── veth ── vnet namespace
//   198.19.K.1/30              198.19.K.2/30                 198.19.K.6/30
//   (fake ARM, Azurite)        198.19.K.5/30                 10.0.16.0/24 (the VMs' private IPs)
//                              route 198.18.K.0/24 → vnet    198.18.K.0/24 (public IPs: the
//                                                            jumpbox, load balancer frontends)
//
// The director (the CLI under test) runs in the director namespace: it reaches the fake and
// Azurite, and the public addresses, and nothing else — a dial to a private IP fails there with
// ENETUNREACH. VMs, the jumpbox and load balancer proxies run in the vnet namespace. The root
// namespace routes the public range into the director's namespace, which forwards it to the vnet
// (so an in-process tool of the test, as a bench, reaches the jumpbox too, and a dial to a public
// address never follows the host's default route); the private range is routed nowhere.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

export const IP_COMMAND = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'].find((p) => existsSync(p));

/** The virtual network's address range inside the vnet namespace (the CFCR-on-Azure guide's subnet). */
export const VNET_CIDR = '10.0.16.0/24';
export const VNET_PREFIX = '10.0.16';

const PREFIX = 'i10';

export interface WalledNetwork {
  /** The namespace the director runs in (`ip netns exec`). */
  readonly director: string;
  /** The namespace the VMs run in. */
  readonly vnet: string;
  /** The root namespace's end of the director's link: where the fake ARM and Azurite listen. */
  readonly hostAddress: string;
  /** The director's address as the VMs and the jumpbox see it. */
  readonly directorAddress: string;
  /** The first three octets of the public addresses, e.g. 198.18.42 (a range RFC 2544 reserves for tests). */
  readonly publicPrefix: string;
  /** Runs `argv` in namespace `ns` to its end; stdin optional. */
  run(
    ns: string,
    argv: readonly string[],
    input?: string,
  ): Promise<{ code: number | null; stdout: string; stderr: string }>;
  /** Deletes the namespaces and links (processes in them must be stopped first). */
  remove(): void;
}

/** Why this machine cannot build the world, or undefined when it can. */
export function netnsUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'building network namespaces needs root';
  if (IP_COMMAND === undefined) return "iproute2's ip is missing (scripts/install-peers.sh installs it)";
  return undefined;
}

function ip(...args: string[]): void {
  execFileSync(IP_COMMAND as string, args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function removeFor(pid: number): void {
  for (const args of [
    ['netns', 'del', `${PREFIX}-${pid}-dir`],
    ['netns', 'del', `${PREFIX}-${pid}-vnet`],
    ['link', 'del', `${PREFIX}ra${pid}`],
  ]) {
    try {
      ip(...args);
    } catch {
      // already gone
    }
  }
}

/** Removes what an earlier test process (now dead) left: its namespaces and its root link. */
function sweepLeftovers(): void {
  const names = execFileSync(IP_COMMAND as string, ['netns', 'list'], { encoding: 'utf8' });
  const pids = new Set(
    [...names.matchAll(new RegExp(`^${PREFIX}-(\\d+)-(?:dir|vnet)\\b`, 'gm'))].map((m) => Number(m[1])),
  );
  for (const pid of pids) if (pid !== process.pid && !isAlive(pid)) removeFor(pid);
}

/** Builds the namespaces and links of this process (named after its pid). */
export function buildWalledNetwork(): WalledNetwork {
  const why = netnsUnavailable();
  if (why !== undefined) throw new Error(`Cannot build the Azure test world: ${why}`);
  sweepLeftovers();
  const pid = process.pid;
  // a /30 of 198.19.0.0/16 no other world on this machine uses (two test files may run at once)
  const used = execFileSync(IP_COMMAND as string, ['-4', '-o', 'addr', 'show'], { encoding: 'utf8' });
  let k = (pid % 250) + 1;
  for (let i = 0; i < 250 && used.includes(` 198.19.${k}.1/`); i++) k = (k % 250) + 1;
  const director = `${PREFIX}-${pid}-dir`;
  const vnet = `${PREFIX}-${pid}-vnet`;
  const [ra, rb, va, vb] = ['ra', 'rb', 'va', 'vb'].map((s) => `${PREFIX}${s}${pid}`) as [
    string,
    string,
    string,
    string,
  ];
  const link = `198.19.${k}`;
  const publicPrefix = `198.18.${k}`;
  removeFor(pid);
  try {
    ip('netns', 'add', director);
    ip('netns', 'add', vnet);
    ip('link', 'add', ra, 'type', 'veth', 'peer', 'name', rb, 'netns', director);
    ip('addr', 'add', `${link}.1/30`, 'dev', ra);
    ip('link', 'set', ra, 'up');
    ip('-n', director, 'link', 'set', 'lo', 'up');
    ip('-n', director, 'addr', 'add', `${link}.2/30`, 'dev', rb);
    ip('-n', director, 'link', 'set', rb, 'up');
    ip('-n', director, 'link', 'add', va, 'type', 'veth', 'peer', 'name', vb, 'netns', vnet);
    ip('-n', director, 'addr', 'add', `${link}.5/30`, 'dev', va);
    ip('-n', director, 'link', 'set', va, 'up');
    ip('-n', vnet, 'link', 'set', 'lo', 'up');
    ip('-n', vnet, 'addr', 'add', `${link}.6/30`, 'dev', vb);
    ip('-n', vnet, 'link', 'set', vb, 'up');
    // the public addresses are behind the vnet's edge; the private ones are not routed at all
    ip('-n', director, 'route', 'add', `${publicPrefix}.0/24`, 'via', `${link}.6`);
    ip('route', 'add', `${publicPrefix}.0/24`, 'via', `${link}.2`, 'dev', ra);
    ip('-n', vnet, 'route', 'add', `${link}.0/30`, 'via', `${link}.5`);
    execFileSync(
      IP_COMMAND as string,
      ['netns', 'exec', director, 'sh', '-c', 'echo 1 > /proc/sys/net/ipv4/ip_forward'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    // every address of both ranges is the vnet's own: a VM may bind any of them (Linux AnyIP)
    ip('-n', vnet, 'route', 'add', 'local', VNET_CIDR, 'dev', 'lo');
    ip('-n', vnet, 'route', 'add', 'local', `${publicPrefix}.0/24`, 'dev', 'lo');
  } catch (err) {
    removeFor(pid);
    throw new Error(
      `Building the Azure test world's namespaces: ${(err as { stderr?: Buffer }).stderr?.toString().trim() || (err as Error).message}`,
    );
  }
  return {
    director,
    vnet,
    hostAddress: `${link}.1`,
    directorAddress: `${link}.5`,
    publicPrefix,
    run: (ns, argv, input) =>
      new Promise((resolve, reject) => {
        const child = spawn(IP_COMMAND as string, ['netns', 'exec', ns, ...argv], {
          stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
        child.once('error', reject);
        child.once('close', (code) => resolve({ code, stdout, stderr }));
        if (input !== undefined) child.stdin?.end(input);
      }),
    remove: () => removeFor(pid),
  };
}
