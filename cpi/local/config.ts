import { isIPv4 } from 'node:net';
import { isAbsolute } from 'node:path';
import { DirectorError } from '../../src/errors.js';

export interface LocalLoadBalancerConfig {
  /** The frontend address, e.g. 127.0.0.1 (or 0.0.0.0 to expose it beyond this host). */
  readonly address: string;
  readonly ports: readonly { readonly frontend: number; readonly backend: number }[];
}

/** The local CPI's configuration (the `cpi` properties of env.yml). */
export interface LocalCpiConfig {
  /** Absolute folder holding every VM, disk, stemcell and load balancer. */
  readonly root: string;
  /** The SSH port of every VM (each VM has its own loopback IP). Default 2222. */
  readonly ssh_port: number;
  readonly load_balancers: Readonly<Record<string, LocalLoadBalancerConfig>>;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isPort = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0 && v < 65536;
const show = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : (JSON.stringify(v) ?? String(v)));

/** Validates a raw local CPI config, reporting every problem at once, each with its path. */
export function parseLocalCpiConfig(raw: unknown): LocalCpiConfig {
  const problems: string[] = [];
  if (!isPlainObject(raw)) throw new DirectorError(`Validating local CPI config: expected a map, found ${show(raw)}`);
  const root = raw.root;
  if (typeof root !== 'string' || !isAbsolute(root))
    problems.push(`'root' must be an absolute path, found ${show(root)}`);
  const sshPort = raw.ssh_port ?? 2222;
  if (!isPort(sshPort)) problems.push(`'ssh_port' must be a port number (1-65535), found ${show(sshPort)}`);
  const lbs: Record<string, LocalLoadBalancerConfig> = {};
  const rawLbs = raw.load_balancers ?? {};
  if (!isPlainObject(rawLbs))
    problems.push(`'load_balancers' must be a map of name to {address, ports}, found ${show(rawLbs)}`);
  else {
    for (const [name, lb] of Object.entries(rawLbs)) {
      const at = `load_balancers.${name}`;
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name))
        problems.push(`'${at}': a load balancer name must be letters, digits, '.', '_' or '-'`);
      if (!isPlainObject(lb)) {
        problems.push(`'${at}' must be a map with 'address' and 'ports', found ${show(lb)}`);
        continue;
      }
      const address = lb.address ?? '127.0.0.1';
      if (typeof address !== 'string' || !isIPv4(address))
        problems.push(`'${at}.address' must be an IPv4 address, found ${show(address)}`);
      const ports: { frontend: number; backend: number }[] = [];
      if (!Array.isArray(lb.ports) || lb.ports.length === 0)
        problems.push(`'${at}.ports' must be a non-empty list of {frontend, backend}`);
      else
        lb.ports.forEach((p: unknown, i: number) => {
          const pat = `${at}.ports[${i}]`;
          if (!isPlainObject(p))
            return void problems.push(`'${pat}' must be a map {frontend, backend}, found ${show(p)}`);
          if (!isPort(p.frontend))
            problems.push(`'${pat}.frontend' must be a port number (1-65535), found ${show(p.frontend)}`);
          if (!isPort(p.backend))
            problems.push(`'${pat}.backend' must be a port number (1-65535), found ${show(p.backend)}`);
          if (isPort(p.frontend) && isPort(p.backend)) ports.push({ frontend: p.frontend, backend: p.backend });
        });
      lbs[name] = { address: String(address), ports };
    }
  }
  if (problems.length > 0) throw new DirectorError(`Validating local CPI config: ${problems.join('; ')}`);
  return { root: root as string, ssh_port: sshPort as number, load_balancers: lbs };
}
