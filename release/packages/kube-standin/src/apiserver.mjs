// The stand-in API server: the REST surface kubectl uses for the resources of resources.mjs,
// kept in etcd (store.mjs). It stores workloads and runs none of them: a pod stays Pending with
// a FailedScheduling event saying so, a deployment reports 0 ready replicas. No admission, no
// RBAC: any authenticated user may do anything.
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import { PatchError, jsonPatch, mergePatch, strategicMergePatch } from './patch.mjs';
import {
  RESOURCES,
  findResource,
  groupVersion,
  groups,
  parseFieldSelector,
  parseLabelSelector,
  resourceList,
  storageKey,
} from './resources.mjs';
import { StoreError, etcdStore, memoryStore } from './store.mjs';

const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public'];
const STANDIN_MESSAGE =
  'kube-standin stores workloads but runs no containers: the real Kubernetes server binaries were not available to this release';

class ApiError extends Error {
  constructor(code, reason, message, details) {
    super(message);
    this.code = code;
    this.reason = reason;
    this.details = details;
  }
}
const notFound = (r, name) =>
  new ApiError(404, 'NotFound', `${r.group ? `${r.name}.${r.group}` : r.name} "${name}" not found`, {
    name,
    ...(r.group ? { group: r.group } : {}),
    kind: r.name,
  });
const conflict = (r, name) =>
  new ApiError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${r.group ? `${r.name}.${r.group}` : r.name} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    {
      name,
      ...(r.group ? { group: r.group } : {}),
      kind: r.name,
    },
  );
const alreadyExists = (r, name) =>
  new ApiError(409, 'AlreadyExists', `${r.group ? `${r.name}.${r.group}` : r.name} "${name}" already exists`, {
    name,
    ...(r.group ? { group: r.group } : {}),
    kind: r.name,
  });
const invalid = (r, name, message) =>
  new ApiError(422, 'Invalid', `${r.kind} "${name || ''}" is invalid: ${message}`, {
    name,
    ...(r.group ? { group: r.group } : {}),
    kind: r.kind,
  });
const badRequest = (message) => new ApiError(400, 'BadRequest', message);

function statusBody(code, reason, message, details) {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(details ? { details } : {}),
    code,
  };
}

/** RFC 3339 in seconds, as metav1.Time marshals. */
const timestamp = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

const NAME_RE = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** The object as stored plus its resourceVersion (the etcd mod_revision). */
function fromEntry(entry) {
  const o = entry.value;
  o.metadata = { ...o.metadata, resourceVersion: String(entry.modRevision) };
  return o;
}
function toStored(o) {
  const copy = JSON.parse(JSON.stringify(o));
  if (copy.metadata) delete copy.metadata.resourceVersion;
  return copy;
}

export function apiserver(flags, log, version) {
  const port = Number(flags['secure-port'] || 6443);
  const address = flags['bind-address'] || '0.0.0.0';
  const store = flags['etcd-servers'] ? etcdStore(flags) : memoryStore();
  const tokens = new Map();
  if (flags['token-auth-file']) {
    for (const line of fs.readFileSync(flags['token-auth-file'], 'utf8').split('\n')) {
      const [token, user] = line.split(',');
      if (token && user) tokens.set(token.trim(), user.trim());
    }
  }
  const authenticate = (req) => {
    const cert = req.socket.getPeerCertificate && req.socket.getPeerCertificate();
    if (req.client.authorized && cert && cert.subject) return `${cert.subject.CN}`;
    const h = req.headers.authorization || '';
    if (h.startsWith('Bearer ') && tokens.has(h.slice(7))) return tokens.get(h.slice(7));
    return null;
  };

  // ---- storage with Kubernetes semantics -------------------------------------------------------

  const read = async (r, ns, name) => {
    const e = await store.get(storageKey(r, ns, name));
    if (!e) throw notFound(r, name);
    return { obj: fromEntry(e), rev: e.modRevision };
  };

  const requireNamespace = async (ns) => {
    if (!(await store.get(storageKey(NAMESPACES, undefined, ns))))
      throw new ApiError(404, 'NotFound', `namespaces "${ns}" not found`, { name: ns, kind: 'namespaces' });
  };

  /** What the stand-in's "controllers" say of a workload: stored, not run. */
  const workloadStatus = (r, o) => {
    const gen = o.metadata.generation || 1;
    if (r.kind === 'Deployment') {
      const want = o.spec?.replicas ?? 1;
      return {
        observedGeneration: gen,
        replicas: 0,
        updatedReplicas: 0,
        readyReplicas: 0,
        availableReplicas: 0,
        unavailableReplicas: want,
        conditions: [
          {
            type: 'Available',
            status: 'False',
            reason: 'StandInRunsNoPods',
            message: STANDIN_MESSAGE,
            lastUpdateTime: o.metadata.creationTimestamp,
            lastTransitionTime: o.metadata.creationTimestamp,
          },
        ],
      };
    }
    if (r.kind === 'DaemonSet')
      return {
        observedGeneration: gen,
        desiredNumberScheduled: 0,
        currentNumberScheduled: 0,
        numberReady: 0,
        numberMisscheduled: 0,
        updatedNumberScheduled: 0,
        numberAvailable: 0,
      };
    if (r.kind === 'ReplicaSet')
      return { observedGeneration: gen, replicas: 0, fullyLabeledReplicas: 0, readyReplicas: 0, availableReplicas: 0 };
    return undefined;
  };

  const recordEvent = async (r, o, type, reason, message) => {
    const now = timestamp();
    const name = `${o.metadata.name}.${crypto.randomBytes(8).toString('hex')}`;
    const ev = {
      kind: 'Event',
      apiVersion: 'v1',
      metadata: {
        name,
        namespace: o.metadata.namespace || 'default',
        uid: crypto.randomUUID(),
        creationTimestamp: now,
      },
      involvedObject: {
        kind: r.kind,
        namespace: o.metadata.namespace,
        name: o.metadata.name,
        uid: o.metadata.uid,
        apiVersion: groupVersion(r),
      },
      reason,
      message,
      type,
      count: 1,
      firstTimestamp: now,
      lastTimestamp: now,
      source: { component: 'kube-standin' },
      reportingComponent: 'kube-standin',
      reportingInstance: '',
    };
    await store
      .create(storageKey(EVENTS, ev.metadata.namespace, name), ev)
      .catch((err) => log(`recording event ${name}: ${err.message}`));
  };

  /** Create: defaults, uid, timestamps; workloads get their (never running) status. */
  const create = async (r, ns, body, user) => {
    if (!body || typeof body !== 'object' || Array.isArray(body))
      throw badRequest('the request body must be an object');
    if (body.kind && body.kind !== r.kind)
      throw badRequest(`the kind '${body.kind}' does not match the resource '${r.name}' (${r.kind})`);
    const o = JSON.parse(JSON.stringify(body));
    o.kind = r.kind;
    o.apiVersion = groupVersion(r);
    o.metadata = o.metadata || {};
    if (!o.metadata.name && o.metadata.generateName)
      o.metadata.name = `${o.metadata.generateName}${crypto.randomBytes(3).toString('hex').slice(0, 5)}`;
    const name = o.metadata.name;
    if (!name) throw invalid(r, '', 'metadata.name: Required value: name or generateName is required');
    if (!NAME_RE.test(name) || name.length > 253)
      throw invalid(
        r,
        name,
        `metadata.name: Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'`,
      );
    if (r.namespaced) {
      if (o.metadata.namespace && o.metadata.namespace !== ns)
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      o.metadata.namespace = ns;
      await requireNamespace(ns);
    } else delete o.metadata.namespace;
    delete o.metadata.resourceVersion;
    o.metadata.uid = crypto.randomUUID();
    o.metadata.creationTimestamp = timestamp();
    if (r.status && r.kind !== 'Node' && r.kind !== 'Service') delete o.status;
    if (['Deployment', 'DaemonSet', 'ReplicaSet'].includes(r.kind)) o.metadata.generation = 1;
    if (r.kind === 'Deployment') o.spec = { replicas: 1, ...o.spec };
    if (r.kind === 'Namespace') o.status = { phase: 'Active' };
    if (r.kind === 'Namespace') o.spec = { finalizers: ['kubernetes'], ...o.spec };
    if (r.kind === 'Pod') {
      o.spec = o.spec || {};
      if (!Array.isArray(o.spec.containers) || !o.spec.containers.length)
        throw invalid(r, name, 'spec.containers: Required value');
      o.status = {
        phase: 'Pending',
        conditions: [
          {
            type: 'PodScheduled',
            status: 'False',
            reason: 'Unschedulable',
            message: STANDIN_MESSAGE,
            lastTransitionTime: o.metadata.creationTimestamp,
          },
        ],
        qosClass: 'BestEffort',
      };
    }
    if (r.kind === 'Service') {
      o.spec = { type: 'ClusterIP', sessionAffinity: 'None', ...o.spec };
      o.status = o.status || { loadBalancer: {} };
    }
    const st = workloadStatus(r, o);
    if (st) o.status = st;
    try {
      const rev = await store.create(storageKey(r, ns, name), toStored(o));
      o.metadata.resourceVersion = String(rev);
    } catch (err) {
      if (err instanceof StoreError && err.reason === 'AlreadyExists') throw alreadyExists(r, name);
      throw err;
    }
    log(`${r.name} ${r.namespaced ? `${ns}/` : ''}${name} created by ${user}`);
    if (r.kind === 'Pod')
      await recordEvent(r, o, 'Warning', 'FailedScheduling', `${STANDIN_MESSAGE}; the pod stays Pending`);
    if (r.kind === 'Deployment' || r.kind === 'DaemonSet' || r.kind === 'ReplicaSet')
      await recordEvent(r, o, 'Warning', 'NotRun', `${STANDIN_MESSAGE}; no pods are created for it`);
    if (r.kind === 'Namespace') await ensureDefaultServiceAccount(name);
    return o;
  };

  /** Replaces the object with `next` (status or main resource), CAS on the revision read. */
  const write = async (r, ns, name, current, rev, next, subresource) => {
    let o;
    if (subresource === 'status') o = { ...current, status: next.status };
    else {
      o = JSON.parse(JSON.stringify(next));
      o.kind = r.kind;
      o.apiVersion = groupVersion(r);
      // immutable metadata stays as stored
      o.metadata = {
        ...o.metadata,
        name,
        uid: current.metadata.uid,
        creationTimestamp: current.metadata.creationTimestamp,
        ...(r.namespaced ? { namespace: ns } : {}),
      };
      if (current.metadata.generation !== undefined) {
        o.metadata.generation =
          JSON.stringify(o.spec) === JSON.stringify(current.spec)
            ? current.metadata.generation
            : current.metadata.generation + 1;
      }
      if (r.status && r.kind !== 'Node') o.status = current.status;
      if (r.kind === 'Node' && next.status === undefined) o.status = current.status;
      const st = workloadStatus(r, o);
      if (st) o.status = st;
    }
    if (o.metadata?.name !== name)
      throw badRequest(`the name of the object (${o.metadata?.name}) does not match the name on the URL (${name})`);
    try {
      const newRev = await store.update(storageKey(r, ns, name), toStored(o), rev);
      o.metadata.resourceVersion = String(newRev);
    } catch (err) {
      if (err instanceof StoreError && err.reason === 'Conflict') throw conflict(r, name);
      if (err instanceof StoreError && err.reason === 'NotFound') throw notFound(r, name);
      throw err;
    }
    return o;
  };

  const update = async (r, ns, name, body, subresource) => {
    if (!body || typeof body !== 'object') throw badRequest('the request body must be an object');
    if (body.metadata?.name && body.metadata.name !== name)
      throw badRequest(`the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`);
    const { obj, rev } = await read(r, ns, name);
    const asked = body.metadata?.resourceVersion;
    if (asked && asked !== String(rev)) throw conflict(r, name);
    return write(r, ns, name, obj, rev, body, subresource);
  };

  const patch = async (r, ns, name, contentType, body, subresource) => {
    const type = (contentType || '').split(';')[0].trim();
    if (
      ![
        'application/merge-patch+json',
        'application/strategic-merge-patch+json',
        'application/json-patch+json',
      ].includes(type)
    ) {
      throw new ApiError(
        415,
        'UnsupportedMediaType',
        `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json`,
      );
    }
    // read-modify-write, retried when another writer got in between (as GuaranteedUpdate does)
    for (let attempt = 0; ; attempt++) {
      const { obj, rev } = await read(r, ns, name);
      let next;
      try {
        if (type === 'application/json-patch+json') next = jsonPatch(obj, body);
        else if (type === 'application/merge-patch+json') next = mergePatch(obj, body);
        else next = strategicMergePatch(obj, body);
      } catch (err) {
        if (err instanceof PatchError) throw new ApiError(422, 'Invalid', err.message);
        throw err;
      }
      const asked = type !== 'application/json-patch+json' ? body?.metadata?.resourceVersion : undefined;
      if (asked && asked !== String(rev)) throw conflict(r, name);
      try {
        return await write(r, ns, name, obj, rev, next, subresource);
      } catch (err) {
        if (!(err instanceof ApiError && err.reason === 'Conflict') || asked || attempt >= 5) throw err;
      }
    }
  };

  const remove = async (r, ns, name, body, user) => {
    if (r.kind === 'Namespace' && SYSTEM_NAMESPACES.includes(name))
      throw new ApiError(403, 'Forbidden', `namespaces "${name}" is forbidden: this namespace may not be deleted`, {
        name,
        kind: 'namespaces',
      });
    const { obj, rev } = await read(r, ns, name);
    const pre = body?.preconditions || {};
    if ((pre.resourceVersion && pre.resourceVersion !== String(rev)) || (pre.uid && pre.uid !== obj.metadata.uid))
      throw conflict(r, name);
    if (r.kind === 'Namespace') {
      // No namespace controller to finish a Terminating phase: its objects go with it, now.
      for (const nr of RESOURCES.filter((x) => x.namespaced)) {
        const { entries } = await store.list(storageKey(nr, name));
        for (const e of entries) await store.remove(e.key, e.modRevision).catch(() => {});
      }
    }
    try {
      await store.remove(storageKey(r, ns, name), rev);
    } catch (err) {
      if (err instanceof StoreError && err.reason === 'Conflict') throw conflict(r, name);
      if (err instanceof StoreError && err.reason === 'NotFound') throw notFound(r, name);
      throw err;
    }
    log(`${r.name} ${r.namespaced ? `${ns}/` : ''}${name} deleted by ${user}`);
    return obj;
  };

  const list = async (r, ns, query) => {
    const labels = parseLabelSelector(query.get('labelSelector'));
    const fields = parseFieldSelector(query.get('fieldSelector'));
    const { entries, revision } = await store.list(storageKey(r, r.namespaced ? ns : undefined));
    const items = entries.map(fromEntry).filter((o) => labels(o.metadata.labels) && fields(o));
    return {
      kind: `${r.kind}List`,
      apiVersion: groupVersion(r),
      metadata: { resourceVersion: String(revision) },
      items,
    };
  };

  // ---- the scale subresource (autoscaling/v1 Scale over spec.replicas) ------------------------

  const scaleOf = (o) => ({
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: o.metadata.name,
      namespace: o.metadata.namespace,
      uid: o.metadata.uid,
      resourceVersion: o.metadata.resourceVersion,
      creationTimestamp: o.metadata.creationTimestamp,
    },
    spec: { replicas: o.spec?.replicas ?? 1 },
    status: {
      replicas: o.status?.replicas || 0,
      selector: Object.entries(o.spec?.selector?.matchLabels || {})
        .map(([k, v]) => `${k}=${v}`)
        .join(','),
    },
  });
  const scale = async (req, res, r, ns, name) => {
    if (req.method === 'GET') return send(res, 200, scaleOf((await read(r, ns, name)).obj));
    if (req.method !== 'PUT' && req.method !== 'PATCH')
      return send(
        res,
        405,
        statusBody(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource'),
      );
    const body = await readBody(req);
    for (let attempt = 0; ; attempt++) {
      const { obj, rev } = await read(r, ns, name);
      const current = scaleOf(obj);
      let next;
      if (req.method === 'PUT') next = body;
      else {
        const type = (req.headers['content-type'] || '').split(';')[0].trim();
        next =
          type === 'application/json-patch+json'
            ? jsonPatch(current, body)
            : type === 'application/strategic-merge-patch+json'
              ? strategicMergePatch(current, body)
              : mergePatch(current, body);
      }
      const asked = next?.metadata?.resourceVersion;
      if (asked && asked !== String(rev)) throw conflict(r, name);
      const replicas = next?.spec?.replicas;
      if (!Number.isInteger(replicas) || replicas < 0)
        throw invalid(
          r,
          name,
          `spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`,
        );
      try {
        const o = await write(r, ns, name, obj, rev, { ...obj, spec: { ...obj.spec, replicas } });
        return send(res, 200, scaleOf(o));
      } catch (err) {
        if (!(err instanceof ApiError && err.reason === 'Conflict') || asked || attempt >= 5) throw err;
      }
    }
  };

  // ---- Table (kubectl's server-side printing) --------------------------------------------------

  const wantsTable = (req) => /as=Table/.test(req.headers.accept || '');
  const table = (r, objects, query, listMeta) => {
    const now = Date.now();
    const include = query.get('includeObject') || 'Metadata';
    return {
      kind: 'Table',
      apiVersion: 'meta.k8s.io/v1',
      metadata: listMeta || {},
      columnDefinitions: r.columns.map((c) => ({ priority: 0, format: '', ...c })),
      rows: objects.map((o) => ({
        cells: r.cells(o, now),
        ...(include === 'None'
          ? {}
          : {
              object:
                include === 'Object'
                  ? o
                  : { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata },
            }),
      })),
    };
  };

  // ---- watch -----------------------------------------------------------------------------------

  const watch = async (req, res, r, ns, query, name) => {
    const labels = parseLabelSelector(query.get('labelSelector'));
    const fields = parseFieldSelector(name ? `metadata.name=${name}` : query.get('fieldSelector'));
    const asTable = wantsTable(req);
    const rv = query.get('resourceVersion');
    const prefix = storageKey(r, r.namespaced ? ns : undefined);
    res.writeHead(200, {
      'content-type': 'application/json',
      'transfer-encoding': 'chunked',
      'cache-control': 'no-cache',
    });
    const send = (type, o) => res.write(`${JSON.stringify({ type, object: asTable ? table(r, [o], query) : o })}\n`);
    let from;
    if (!rv || rv === '0') {
      // no resourceVersion: the current state as ADDED events, then the changes after it
      const { entries, revision } = await store.list(prefix);
      for (const o of entries.map(fromEntry)) if (labels(o.metadata.labels) && fields(o)) send('ADDED', o);
      from = revision + 1;
    } else from = Number(rv) + 1;
    const stop = store.watch(
      prefix,
      from,
      ({ type, entry }) => {
        const o = fromEntry(entry);
        if (labels(o.metadata?.labels) && fields(o)) send(type, o);
      },
      (err) => {
        if (err instanceof StoreError && err.reason === 'Expired')
          res.write(`${JSON.stringify({ type: 'ERROR', object: statusBody(410, 'Expired', err.message) })}\n`);
        else if (err) log(`watch ${r.name}: ${err.message}`);
        res.end();
      },
    );
    const timeout = Number(query.get('timeoutSeconds') || 1800);
    const timer = setTimeout(() => {
      stop();
      res.end();
    }, timeout * 1000);
    req.on('close', () => {
      clearTimeout(timer);
      stop();
    });
  };

  // ---- bootstrap: the namespaces, service accounts and the kubernetes service every cluster has

  const NAMESPACES = findResource('', 'v1', 'namespaces');
  const EVENTS = findResource('', 'v1', 'events');
  const SERVICEACCOUNTS = findResource('', 'v1', 'serviceaccounts');
  const SERVICES = findResource('', 'v1', 'services');
  const ignoreExists = (err) => {
    if (!(err instanceof ApiError && err.reason === 'AlreadyExists')) throw err;
  };
  async function ensureDefaultServiceAccount(ns) {
    await create(SERVICEACCOUNTS, ns, { metadata: { name: 'default' } }, 'system:serviceaccount-controller').catch(
      ignoreExists,
    );
  }
  const bootstrap = async () => {
    for (const ns of SYSTEM_NAMESPACES) {
      await create(NAMESPACES, undefined, { metadata: { name: ns } }, 'system:apiserver').catch(ignoreExists);
      await ensureDefaultServiceAccount(ns);
    }
    const range = flags['service-cluster-ip-range'] || '10.0.0.0/24';
    const [base] = range.split(',')[0].split('/');
    const octets = base.split('.').map(Number);
    octets[3] += 1;
    await create(
      SERVICES,
      'default',
      {
        metadata: { name: 'kubernetes', labels: { component: 'apiserver', provider: 'kubernetes' } },
        spec: {
          type: 'ClusterIP',
          clusterIP: octets.join('.'),
          ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: port }],
        },
      },
      'system:apiserver',
    ).catch(ignoreExists);
  };

  // ---- HTTP ------------------------------------------------------------------------------------

  const send = (res, code, body) => {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const readBody = (req) =>
    new Promise((resolve, reject) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (!text.trim()) return resolve(undefined);
        try {
          resolve(JSON.parse(text));
        } catch (err) {
          reject(badRequest(`the request body is not JSON: ${err.message}`));
        }
      });
      req.on('error', reject);
    });

  const discovery = (url, res) => {
    const p = url.pathname.replace(/\/$/, '');
    if (p === '/api')
      return (
        send(res, 200, {
          kind: 'APIVersions',
          versions: ['v1'],
          serverAddressByClientCIDRs: [
            { clientCIDR: '0.0.0.0/0', serverAddress: `${flags['advertise-address'] || address}:${port}` },
          ],
        }),
        true
      );
    if (p === '/apis') return (send(res, 200, { kind: 'APIGroupList', apiVersion: 'v1', groups: groups() }), true);
    if (p === '/api/v1') return (send(res, 200, resourceList('', 'v1')), true);
    let m = /^\/apis\/([^/]+)$/.exec(p);
    if (m) {
      const g = groups().find((x) => x.name === m[1]);
      if (!g) return false;
      return (send(res, 200, { kind: 'APIGroup', apiVersion: 'v1', ...g }), true);
    }
    m = /^\/apis\/([^/]+)\/([^/]+)$/.exec(p);
    if (m) {
      const l = resourceList(m[1], m[2]);
      if (!l) return false;
      return (send(res, 200, l), true);
    }
    return false;
  };

  // /api/v1/[namespaces/{ns}/]{resource}[/{name}[/{sub}]] and /apis/{group}/{version}/...
  const route = (pathname) => {
    const m = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))\/(.+)$/.exec(pathname);
    if (!m) return undefined;
    const [group, version] = m[1] ? ['', 'v1'] : [m[2], m[3]];
    let parts = m[4].split('/').filter(Boolean).map(decodeURIComponent);
    let ns;
    if (parts[0] === 'namespaces' && parts.length >= 3) {
      ns = parts[1];
      parts = parts.slice(2);
      const r = findResource(group, version, parts[0]);
      if (!r || !r.namespaced) {
        // /api/v1/namespaces/{name}/status: the namespace's own subresource
        if (group === '' && parts[0] === 'status' && parts.length === 1)
          return { r: findResource('', 'v1', 'namespaces'), name: ns, sub: 'status' };
        return undefined;
      }
      if (parts.length > 3) return undefined;
      return { r, ns, name: parts[1], sub: parts[2] };
    }
    const r = findResource(group, version, parts[0]);
    if (!r || parts.length > 3) return undefined;
    return { r, ns: undefined, name: parts[1], sub: parts[2] };
  };

  const handle = async (req, res) => {
    const url = new URL(req.url, 'https://standin');
    if (['/healthz', '/livez', '/readyz'].includes(url.pathname)) {
      res.writeHead(200, { 'content-type': 'text/plain' });
      return res.end('ok');
    }
    if (url.pathname === '/version') return send(res, 200, version);
    const user = authenticate(req);
    if (!user) return send(res, 401, statusBody(401, 'Unauthorized', 'Unauthorized'));
    if (req.method === 'GET' && discovery(url, res)) return;
    if (url.pathname === '/openapi/v2' && req.method === 'GET') {
      // An empty OpenAPI document (protobuf, openapi_v2.Document{swagger: "2.0", info{title, version}}):
      // kubectl validates against it and finds no schema, so it validates nothing, which is the truth.
      const str = (field, s) => Buffer.concat([Buffer.from([(field << 3) | 2, Buffer.byteLength(s)]), Buffer.from(s)]);
      const info = Buffer.concat([str(1, 'kube-standin'), str(2, version.gitVersion)]);
      const doc = Buffer.concat([str(1, '2.0'), Buffer.from([(2 << 3) | 2, info.length]), info]);
      if (/protobuf/.test(req.headers.accept || '')) {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        return res.end(doc);
      }
      return send(res, 200, {
        swagger: '2.0',
        info: { title: 'kube-standin', version: version.gitVersion },
        paths: {},
        definitions: {},
      });
    }
    const target = route(url.pathname);
    if (!target) return send(res, 404, statusBody(404, 'NotFound', 'the server could not find the requested resource'));
    const { r, ns, name, sub } = target;
    if (sub && !(sub === 'status' && r.status) && !(sub === 'scale' && r.scale))
      return send(res, 404, statusBody(404, 'NotFound', 'the server could not find the requested resource'));
    if (sub === 'scale' && name && ns) return scale(req, res, r, ns, name);
    const q = url.searchParams;
    if (req.method === 'GET' && (q.get('watch') === 'true' || q.get('watch') === '1'))
      return watch(req, res, r, ns, q, name);
    let result;
    let code = 200;
    if (!name) {
      if (req.method === 'GET') {
        const l = await list(r, ns, q);
        return send(res, 200, wantsTable(req) ? table(r, l.items, q, l.metadata) : l);
      }
      if (req.method === 'POST') {
        if (r.namespaced && !ns)
          return send(
            res,
            405,
            statusBody(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`),
          );
        result = await create(r, ns, await readBody(req), user);
        code = 201;
      } else
        return send(
          res,
          405,
          statusBody(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource'),
        );
    } else {
      if (r.namespaced && !ns)
        return send(res, 404, statusBody(404, 'NotFound', 'the server could not find the requested resource'));
      if (req.method === 'GET') {
        const { obj } = await read(r, ns, name);
        return send(
          res,
          200,
          wantsTable(req) ? table(r, [obj], q, { resourceVersion: obj.metadata.resourceVersion }) : obj,
        );
      }
      if (req.method === 'PUT') result = await update(r, ns, name, await readBody(req), sub);
      else if (req.method === 'PATCH')
        result = await patch(r, ns, name, req.headers['content-type'], await readBody(req), sub);
      else if (req.method === 'DELETE') result = await remove(r, ns, name, await readBody(req), user);
      else
        return send(
          res,
          405,
          statusBody(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource'),
        );
    }
    if (q.get('dryRun')) log(`dryRun ignored: the stand-in stored ${r.name} ${name || result.metadata.name}`);
    return send(res, code, result);
  };

  const server = https.createServer(
    {
      cert: fs.readFileSync(flags['tls-cert-file']),
      key: fs.readFileSync(flags['tls-private-key-file']),
      ...(flags['client-ca-file']
        ? { ca: fs.readFileSync(flags['client-ca-file']), requestCert: true, rejectUnauthorized: false }
        : {}),
    },
    (req, res) => {
      handle(req, res).catch((err) => {
        if (res.headersSent) return res.end();
        if (err instanceof ApiError)
          return send(res, err.code, statusBody(err.code, err.reason, err.message, err.details));
        if (/parse requirement|field selector/.test(err.message))
          return send(res, 400, statusBody(400, 'BadRequest', err.message));
        log(`storage: ${err.message}`);
        return send(res, 500, statusBody(500, 'InternalError', `Internal error occurred: ${err.message}`));
      });
    },
  );
  const start = async () => {
    for (;;) {
      try {
        await bootstrap();
        break;
      } catch (err) {
        log(`bootstrapping (namespaces, kubernetes service) in ${store.describe}: ${err.message}; retrying`);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  };
  server.listen(port, address, () => {
    log(
      `serving the Kubernetes API stand-in on https://${address}:${port} (objects in ${store.describe}; workloads stored, never run)`,
    );
    void start();
  });
  return server;
}
