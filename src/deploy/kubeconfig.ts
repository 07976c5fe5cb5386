import { DirectorError } from '../errors.js';
import { fromPlain, toPlain } from '../manifest/value.js';
import { parseYaml, stringifyYaml } from '../manifest/yaml.js';
import type { StateStore } from '../state/index.js';

type Plain = Record<string, unknown>;

const asObject = (v: unknown): Plain => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Plain) : {});
const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** Where a cfcr deployment's API server answers, and what the admin kubeconfig holds. */
export interface KubeconfigParts {
  readonly server: string;
  readonly ca: string;
  readonly username: string;
  readonly token: string;
}

/**
 * Finds the admin kubeconfig's parts for a cfcr deployment: the API server behind the master
 * group's load balancer (its vm_extension's `load_balancer` in the cloud-config, the address the
 * CPI gave it: the local CPI's configured one, or the public IP create-env recorded on Azure) or else the first master's address, on kube-apiserver's secure-port; the CA from
 * the `tls-kubernetes` variable; the admin user and token as kube-apiserver's tokens.csv names them.
 */
export function kubeconfigParts(store: StateStore, deployment: string, cpiProperties: Plain): KubeconfigParts {
  const rec = store.deployments.get(deployment);
  if (!rec?.manifest) throw new DirectorError(`Deployment '${deployment}' has no deployed manifest`);
  const manifest = asObject(toPlain(parseYaml(rec.manifest, `deployment '${deployment}' manifest`)));
  const groups = asList(manifest['instance_groups']).map(asObject);
  const master = groups.find((g) => asList(g['jobs']).some((j) => asObject(j)['name'] === 'kube-apiserver'));
  if (!master)
    throw new DirectorError(
      `Deployment '${deployment}' has no instance group with the kube-apiserver job: it is not a cfcr deployment`,
    );
  const apiserver = asObject(
    asList(master['jobs'])
      .map(asObject)
      .find((j) => j['name'] === 'kube-apiserver'),
  );
  const props = asObject(apiserver['properties']);
  const port = Number(asObject(props['k8s-args'])['secure-port'] ?? 8443);
  const username = String(props['admin-username'] ?? 'admin');
  const tokenVar = /^\(\((.+)\)\)$/.exec(String(props['admin-password'] ?? ''))?.[1] ?? 'kubo-admin-password';
  const token = store.variables.get(deployment, tokenVar)?.value;
  if (typeof token !== 'string')
    throw new DirectorError(`Deployment '${deployment}' has no variable '${tokenVar}' (the admin password)`);
  const tls = asObject(store.variables.get(deployment, 'tls-kubernetes')?.value);
  if (typeof tls['ca'] !== 'string')
    throw new DirectorError(`Deployment '${deployment}' has no certificate variable 'tls-kubernetes'`);

  let address: string | undefined;
  let serverPort = port;
  const cc = store.cloudConfigs.latest();
  const cloud = cc ? asObject(toPlain(parseYaml(cc.content, 'cloud-config'))) : {};
  const extensions = new Map(
    asList(cloud['vm_extensions'])
      .map(asObject)
      .map((e) => [String(e['name']), asObject(e['cloud_properties'])]),
  );
  for (const ext of asList(master['vm_extensions'])) {
    const named = extensions.get(String(ext))?.['load_balancer'];
    // the local CPI names it; the Azure CPI's is {name, backend_pool_name}
    const lbName = typeof named === 'string' ? named : asObject(named)['name'];
    if (typeof lbName !== 'string') continue;
    const lb = asObject(asObject(cpiProperties['load_balancers'])[lbName]);
    if (typeof lb['address'] === 'string') {
      address = lb['address'];
      const mapping = asList(lb['ports'])
        .map(asObject)
        .find((p) => Number(p['backend']) === port);
      if (mapping) serverPort = Number(mapping['frontend']);
      break;
    }
    // an Azure load balancer of the foundation: its public IP, as create-env recorded it
    const recorded = asObject(cpiProperties['foundation_addresses'])[lbName];
    if (typeof recorded !== 'string') continue;
    address = recorded;
    const rule = asList(asObject(asObject(asObject(cpiProperties['foundation'])['load_balancers'])[lbName])['rules'])
      .map(asObject)
      .find((r) => Number(r['backend']) === port);
    if (rule) serverPort = Number(rule['frontend']);
    break;
  }
  if (!address) {
    const first = store.instances.list(deployment).find((i) => i.group === master['name']);
    address = first ? store.ips.list({ deployment, instance: first.uuid })[0]?.ip : undefined;
    serverPort = port;
  }
  if (!address)
    throw new DirectorError(
      `Deployment '${deployment}': no load balancer and no master address to reach the API server at`,
    );
  return { server: `https://${address}:${serverPort}`, ca: tls['ca'], username, token };
}

/** The kubeconfig file text (as kubo-deployment's set_kubeconfig writes it, with a token user). */
export function formatKubeconfig(cluster: string, p: KubeconfigParts): string {
  const user = `${cluster}-${p.username}`;
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: cluster,
        cluster: { server: p.server, 'certificate-authority-data': Buffer.from(p.ca).toString('base64') },
      },
    ],
    users: [{ name: user, user: { token: p.token } }],
    contexts: [{ name: cluster, context: { cluster, user } }],
    'current-context': cluster,
    preferences: {},
  };
  return stringifyYaml(fromPlain(doc));
}
