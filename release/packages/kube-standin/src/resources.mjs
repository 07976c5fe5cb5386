// What the stand-in API server serves: the resources, their discovery entries, where they live in
// etcd (the real API server's keys: /registry/minions/<node>, /registry/services/specs/<ns>/<name>,
// /registry/<resource>/<ns>/<name>), and how kubectl's Table shows them (the columns of
// kubernetes/pkg/printers/internalversion/printers.go).

const VERBS = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];

/**
 * @typedef {{ group: string, version: string, name: string, singularName: string, kind: string,
 *   namespaced: boolean, shortNames: string[], storage: string, status: boolean,
 *   columns: { name: string, type: string, format?: string, priority?: number, description: string }[],
 *   cells: (o: any, now: number) => unknown[] }} Resource
 */

const NAME = { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.' };
const AGE = {
  name: 'Age',
  type: 'string',
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
};
const col = (name, description, priority = 0, type = 'string') => ({ name, type, priority, description });

/** kubernetes' duration.HumanDuration (apimachinery/pkg/util/duration). */
export function humanDuration(ms) {
  const s = Math.floor(ms / 1000);
  if (s < -1) return '<invalid>';
  if (s < 0) return '0s';
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(s / 3600);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  if (h < 192) return h % 24 === 0 ? `${Math.floor(h / 24)}d` : `${Math.floor(h / 24)}d${h % 24}h`;
  if (h < 24 * 365 * 2) return `${Math.floor(h / 24)}d`;
  const y = Math.floor(h / 24 / 365);
  if (y < 8) return `${y}y${Math.floor(h / 24) % 365}d`;
  return `${y}y`;
}
const age = (o, now) =>
  o.metadata?.creationTimestamp ? humanDuration(now - Date.parse(o.metadata.creationTimestamp)) : '<unknown>';

function nodeStatus(n) {
  const ready = (n.status?.conditions || []).find((c) => c.type === 'Ready');
  const parts = [ready ? (ready.status === 'True' ? 'Ready' : 'NotReady') : 'Unknown'];
  if (n.spec?.unschedulable) parts.push('SchedulingDisabled');
  return parts.join(',');
}
function nodeRoles(n) {
  const roles = Object.keys(n.metadata?.labels || {})
    .filter((l) => l.startsWith('node-role.kubernetes.io/'))
    .map((l) => l.slice('node-role.kubernetes.io/'.length))
    .filter(Boolean);
  return roles.length ? roles.sort().join(',') : '<none>';
}
const addressOf = (n, type) => (n.status?.addresses || []).find((a) => a.type === type)?.address || '<none>';
const count = (m) => Object.keys(m || {}).length;
const selector = (m) =>
  Object.keys(m || {}).length
    ? Object.entries(m)
        .map(([k, v]) => `${k}=${v}`)
        .join(',')
    : '<none>';
function servicePorts(s) {
  const ports = s.spec?.ports || [];
  if (!ports.length) return '<none>';
  return ports.map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol || 'TCP'}`).join(',');
}
function containersReady(p) {
  const total = (p.spec?.containers || []).length;
  const ready = (p.status?.containerStatuses || []).filter((c) => c.ready).length;
  return `${ready}/${total}`;
}

/** @type {Resource[]} */
export const RESOURCES = [
  {
    group: '',
    version: 'v1',
    name: 'nodes',
    singularName: 'node',
    kind: 'Node',
    namespaced: false,
    shortNames: ['no'],
    storage: 'minions',
    status: true,
    columns: [
      NAME,
      col('Status', 'The status of the node'),
      col('Roles', 'The roles of the node'),
      AGE,
      col('Version', 'Kubelet Version reported by the node.'),
      col('Internal-IP', 'List of internal IPs for the node.', 1),
      col('External-IP', 'List of external IPs for the node.', 1),
      col('OS-Image', 'OS image reported by the node.', 1),
      col('Kernel-Version', 'Kernel version reported by the node.', 1),
      col('Container-Runtime', 'Container runtime and version reported by the node.', 1),
    ],
    cells: (n, now) => [
      n.metadata.name,
      nodeStatus(n),
      nodeRoles(n),
      age(n, now),
      n.status?.nodeInfo?.kubeletVersion || '',
      addressOf(n, 'InternalIP'),
      addressOf(n, 'ExternalIP'),
      n.status?.nodeInfo?.osImage || '<unknown>',
      n.status?.nodeInfo?.kernelVersion || '<unknown>',
      n.status?.nodeInfo?.containerRuntimeVersion || '<unknown>',
    ],
  },
  {
    group: '',
    version: 'v1',
    name: 'namespaces',
    singularName: 'namespace',
    kind: 'Namespace',
    namespaced: false,
    shortNames: ['ns'],
    storage: 'namespaces',
    status: true,
    columns: [NAME, col('Status', 'The status of the namespace'), AGE],
    cells: (o, now) => [o.metadata.name, o.status?.phase || 'Active', age(o, now)],
  },
  {
    group: '',
    version: 'v1',
    name: 'pods',
    singularName: 'pod',
    kind: 'Pod',
    namespaced: true,
    shortNames: ['po'],
    storage: 'pods',
    status: true,
    columns: [
      NAME,
      col('Ready', 'The aggregate readiness state of this pod for accepting traffic.'),
      col('Status', 'The aggregate status of the containers in this pod.'),
      col('Restarts', 'The number of times the containers in this pod have been restarted.', 0, 'integer'),
      AGE,
      col('IP', 'IP address allocated to the pod.', 1),
      col('Node', 'Name of the node assigned to the pod.', 1),
    ],
    cells: (p, now) => [
      p.metadata.name,
      containersReady(p),
      p.status?.reason || p.status?.phase || 'Pending',
      0,
      age(p, now),
      p.status?.podIP || '<none>',
      p.spec?.nodeName || '<none>',
    ],
  },
  {
    group: '',
    version: 'v1',
    name: 'services',
    singularName: 'service',
    kind: 'Service',
    namespaced: true,
    shortNames: ['svc'],
    storage: 'services/specs',
    status: true,
    columns: [
      NAME,
      col('Type', 'The type of the service.'),
      col('Cluster-IP', 'The IP address of the service.'),
      col('External-IP', 'The external IP addresses of the service.'),
      col('Port(s)', 'The ports of the service.'),
      AGE,
      col('Selector', 'The selector of the service.', 1),
    ],
    cells: (s, now) => [
      s.metadata.name,
      s.spec?.type || 'ClusterIP',
      s.spec?.clusterIP || '<none>',
      (s.spec?.externalIPs || []).join(',') || '<none>',
      servicePorts(s),
      age(s, now),
      selector(s.spec?.selector),
    ],
  },
  {
    group: '',
    version: 'v1',
    name: 'configmaps',
    singularName: 'configmap',
    kind: 'ConfigMap',
    namespaced: true,
    shortNames: ['cm'],
    storage: 'configmaps',
    status: false,
    columns: [NAME, col('Data', 'Number of data entries in the ConfigMap', 0, 'integer'), AGE],
    cells: (o, now) => [o.metadata.name, count(o.data) + count(o.binaryData), age(o, now)],
  },
  {
    group: '',
    version: 'v1',
    name: 'secrets',
    singularName: 'secret',
    kind: 'Secret',
    namespaced: true,
    shortNames: [],
    storage: 'secrets',
    status: false,
    columns: [
      NAME,
      col('Type', 'The type of the secret'),
      col('Data', 'The number of data entries in the secret', 0, 'integer'),
      AGE,
    ],
    cells: (o, now) => [o.metadata.name, o.type || 'Opaque', count(o.data), age(o, now)],
  },
  {
    group: '',
    version: 'v1',
    name: 'serviceaccounts',
    singularName: 'serviceaccount',
    kind: 'ServiceAccount',
    namespaced: true,
    shortNames: ['sa'],
    storage: 'serviceaccounts',
    status: false,
    columns: [
      NAME,
      col(
        'Secrets',
        'Secrets is the list of secrets allowed to be used by pods running using this ServiceAccount.',
        0,
        'integer',
      ),
      AGE,
    ],
    cells: (o, now) => [o.metadata.name, (o.secrets || []).length, age(o, now)],
  },
  {
    group: '',
    version: 'v1',
    name: 'events',
    singularName: 'event',
    kind: 'Event',
    namespaced: true,
    shortNames: ['ev'],
    storage: 'events',
    status: false,
    columns: [
      col('Last Seen', 'The time since the event was last seen.'),
      col('Type', 'The type of the event (Normal, Warning).'),
      col('Reason', 'Why the event was emitted.'),
      col('Object', 'The object the event is about.'),
      col('Message', 'A human-readable description of the event.'),
    ],
    cells: (e, now) => [
      e.lastTimestamp ? humanDuration(now - Date.parse(e.lastTimestamp)) : '<unknown>',
      e.type || 'Normal',
      e.reason || '',
      `${(e.involvedObject?.kind || '').toLowerCase()}/${e.involvedObject?.name || ''}`,
      e.message || '',
    ],
  },
  {
    group: 'apps',
    version: 'v1',
    name: 'deployments',
    singularName: 'deployment',
    kind: 'Deployment',
    namespaced: true,
    shortNames: ['deploy'],
    storage: 'deployments',
    status: true,
    scale: true,
    columns: [
      NAME,
      col('Ready', 'Number of the pod with ready state'),
      col(
        'Up-to-date',
        'Total number of non-terminated pods targeted by this deployment that have the desired template spec.',
        0,
        'integer',
      ),
      col(
        'Available',
        'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.',
        0,
        'integer',
      ),
      AGE,
    ],
    cells: (d, now) => [
      d.metadata.name,
      `${d.status?.readyReplicas || 0}/${d.spec?.replicas ?? 1}`,
      d.status?.updatedReplicas || 0,
      d.status?.availableReplicas || 0,
      age(d, now),
    ],
  },
  {
    group: 'apps',
    version: 'v1',
    name: 'daemonsets',
    singularName: 'daemonset',
    kind: 'DaemonSet',
    namespaced: true,
    shortNames: ['ds'],
    storage: 'daemonsets',
    status: true,
    columns: [
      NAME,
      col('Desired', 'The total number of nodes that should be running the daemon pod.', 0, 'integer'),
      col('Current', 'The number of nodes that are running at least one daemon pod.', 0, 'integer'),
      col(
        'Ready',
        'The number of nodes that should be running the daemon pod and have one or more ready.',
        0,
        'integer',
      ),
      col('Up-to-date', 'The total number of nodes that are running updated daemon pod', 0, 'integer'),
      col(
        'Available',
        'The number of nodes that should be running the daemon pod and have one or more available.',
        0,
        'integer',
      ),
      col('Node Selector', 'NodeSelector is a selector which must be true for the pod to fit on a node.'),
      AGE,
    ],
    cells: (d, now) => [
      d.metadata.name,
      d.status?.desiredNumberScheduled || 0,
      d.status?.currentNumberScheduled || 0,
      d.status?.numberReady || 0,
      d.status?.updatedNumberScheduled || 0,
      d.status?.numberAvailable || 0,
      selector(d.spec?.template?.spec?.nodeSelector),
      age(d, now),
    ],
  },
  {
    group: 'apps',
    version: 'v1',
    name: 'replicasets',
    singularName: 'replicaset',
    kind: 'ReplicaSet',
    namespaced: true,
    shortNames: ['rs'],
    storage: 'replicasets',
    status: true,
    scale: true,
    columns: [
      NAME,
      col('Desired', 'Number of desired pods.', 0, 'integer'),
      col('Current', 'Number of actual replicas.', 0, 'integer'),
      col('Ready', 'The number of ready replicas for this replica set.', 0, 'integer'),
      AGE,
    ],
    cells: (r, now) => [
      r.metadata.name,
      r.spec?.replicas ?? 1,
      r.status?.replicas || 0,
      r.status?.readyReplicas || 0,
      age(r, now),
    ],
  },
];

export const groupVersion = (r) => (r.group ? `${r.group}/${r.version}` : r.version);

/** The served groups (besides the legacy core group at /api). */
export function groups() {
  const names = [...new Set(RESOURCES.filter((r) => r.group).map((r) => r.group))];
  return names.map((name) => {
    const versions = [...new Set(RESOURCES.filter((r) => r.group === name).map((r) => r.version))].map((version) => ({
      groupVersion: `${name}/${version}`,
      version,
    }));
    return { name, versions, preferredVersion: versions[0] };
  });
}

/** APIResourceList of one group version: each resource and its subresources. */
export function resourceList(group, version) {
  const served = RESOURCES.filter((r) => r.group === group && r.version === version);
  if (!served.length) return undefined;
  const resources = [];
  for (const r of served) {
    resources.push({
      name: r.name,
      singularName: r.singularName,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: VERBS,
      ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
    });
    if (r.status)
      resources.push({
        name: `${r.name}/status`,
        singularName: '',
        namespaced: r.namespaced,
        kind: r.kind,
        verbs: ['get', 'patch', 'update'],
      });
    if (r.scale)
      resources.push({
        name: `${r.name}/scale`,
        singularName: '',
        namespaced: r.namespaced,
        group: 'autoscaling',
        version: 'v1',
        kind: 'Scale',
        verbs: ['get', 'patch', 'update'],
      });
  }
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group ? `${group}/${version}` : version,
    resources,
  };
}

export const findResource = (group, version, name) =>
  RESOURCES.find((r) => r.group === group && r.version === version && r.name === name);

/** The etcd key of an object (or of a prefix when name/namespace are absent). */
export function storageKey(r, namespace, name) {
  let key = `/registry/${r.storage}/`;
  if (r.namespaced && namespace) key += `${namespace}/`;
  if (name) key += name;
  return key;
}

// Label selectors: a=b, a==b, a!=b, a, !a, a in (x,y), a notin (x,y) (apimachinery/pkg/labels).
export function parseLabelSelector(text) {
  if (!text) return () => true;
  const reqs = [];
  const parts = text.match(/(?:[^,(]+(?:\([^)]*\))?)+/g) || [];
  for (const raw of parts) {
    const p = raw.trim();
    let m;
    if ((m = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(p))) {
      const values = m[3].split(',').map((v) => v.trim());
      const [key, op] = [m[1], m[2]];
      reqs.push((l) => (op === 'in' ? key in l && values.includes(l[key]) : !(key in l) || !values.includes(l[key])));
    } else if ((m = /^([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)$/.exec(p))) {
      const [key, op, value] = [m[1], m[2], m[3]];
      reqs.push((l) => (op === '!=' ? l[key] !== value : l[key] === value));
    } else if ((m = /^!([\w./-]+)$/.exec(p))) {
      const key = m[1];
      reqs.push((l) => !(key in l));
    } else if ((m = /^([\w./-]+)$/.exec(p))) {
      const key = m[1];
      reqs.push((l) => key in l);
    } else throw new Error(`unable to parse requirement: '${p}'`);
  }
  return (labels) => reqs.every((r) => r(labels || {}));
}

// Field selectors: path=value, path==value, path!=value on the object's own fields.
export function parseFieldSelector(text) {
  if (!text) return () => true;
  const reqs = text.split(',').map((p) => {
    const m = /^([\w.]+)\s*(==|=|!=)\s*(.*)$/.exec(p.trim());
    if (!m) throw new Error(`invalid field selector: '${p}'`);
    const [path, op, value] = [m[1].split('.'), m[2], m[3]];
    return (o) => {
      let v = o;
      for (const k of path) v = v == null ? undefined : v[k];
      const s = v === undefined || v === null ? '' : String(v);
      return op === '!=' ? s !== value : s === value;
    };
  });
  return (o) => reqs.every((r) => r(o));
}
