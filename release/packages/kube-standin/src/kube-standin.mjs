#!/usr/bin/env node
// kube-standin: a STAND-IN for the Kubernetes server binaries, used when the real
// kubernetes-server-linux-amd64 package is not present (it cannot be downloaded everywhere).
// It is NOT Kubernetes and runs no containers. It answers kubectl the way an API server does for
// what it stores, so that deploys, load balancers, drain scripts, errands and operators have
// something real to talk to:
//   apiserver           HTTPS: discovery (/api, /apis), core/v1 nodes, namespaces, pods, services,
//                       configmaps, secrets, serviceaccounts, events and apps/v1 deployments,
//                       daemonsets, replicasets — create, get, list (also as kubectl's Table),
//                       update, patch, delete, watch — kept in etcd (apiserver.mjs); workloads are
//                       stored, never run (pods stay Pending with an event saying why).
//   controller-manager  HTTP /healthz; the node lifecycle controller: a node whose kubelet stops
//                       posting status goes NotReady (Unknown) after --node-monitor-grace-period
//   scheduler           HTTP /healthz (it schedules nothing: nothing would run)
//   kubelet             registers its node when it starts and posts its status; /healthz on 10248
//   proxy               HTTP /healthz on 10256
//   drain-node          one-shot client for the BOSH drain script: cordon, delete the node's pods,
//                       delete the node (its kubelet registers it again when it starts)
//   node-patch          one-shot client: cordon/uncordon a node
//   apply               one-shot client: `kubectl apply` of JSON manifests (create, or patch the
//                       last-applied configuration), for the apply-specs errand
//   get                 one-shot client: GET a path
// It accepts the real binaries' flags (--name=value) and ignores the ones it has no use for.
// Plain Node, no dependencies: it ships as a release package onto VMs that have only Node.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { apiserver } from './apiserver.mjs';

const [, , role, ...argv] = process.argv;
const flags = {};
for (const a of argv) {
  const m = /^--([^=]+)(?:=(.*))?$/.exec(a);
  if (m) flags[m[1]] = m[2] === undefined ? 'true' : m[2];
}
const log = (msg) => process.stdout.write(`${new Date().toISOString()} kube-standin ${role}: ${msg}\n`);
export const VERSION = {
  major: '1',
  minor: '36',
  gitVersion: 'v1.36.0-standin',
  gitCommit: '',
  gitTreeState: 'clean',
  buildDate: '',
  goVersion: '',
  compiler: 'node',
  platform: `${process.platform}/${process.arch}`,
  standin: true,
};

/** Go-style durations ("40s", "1m30s", "500ms") in milliseconds. */
function duration(text, fallbackMs) {
  if (!text) return fallbackMs;
  let ms = 0;
  const re = /(\d+(?:\.\d+)?)(ms|h|m|s)/g;
  let m;
  let matched = '';
  while ((m = re.exec(text))) {
    ms += Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2]];
    matched += m[0];
  }
  return matched === text ? ms : fallbackMs;
}

function healthServer(port, address) {
  // HTTPS when the component is given a serving certificate (as the real ones serve /healthz on
  // their secure port), plain HTTP otherwise.
  const tls =
    flags['tls-cert-file'] && flags['tls-private-key-file']
      ? { cert: fs.readFileSync(flags['tls-cert-file']), key: fs.readFileSync(flags['tls-private-key-file']) }
      : undefined;
  const handler = (req, res) => {
    if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    } else {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 }));
    }
  };
  const srv = tls ? https.createServer(tls, handler) : http.createServer(handler);
  srv.listen(Number(port), address, () => log(`serving /healthz on ${tls ? 'https' : 'http'}://${address}:${port}`));
  return srv;
}

function kubeconfig() {
  const file = flags.kubeconfig;
  if (!file) throw new Error('--kubeconfig is required');
  const text = fs.readFileSync(file, 'utf8');
  const server = /server:\s*"?([^"\s]+)"?/.exec(text)[1];
  const token = (/token:\s*"?([^"\s]+)"?/.exec(text) || [])[1];
  const caFile = (/certificate-authority:\s*"?([^"\s]+)"?/.exec(text) || [])[1];
  return { server, token, ca: caFile ? fs.readFileSync(path.resolve(path.dirname(file), caFile)) : undefined };
}

function call(kc, method, urlPath, body, contentType = 'application/json') {
  return new Promise((resolve, reject) => {
    const u = new URL(urlPath, kc.server);
    const req = https.request(
      u,
      {
        method,
        ca: kc.ca,
        headers: {
          ...(kc.token ? { authorization: `Bearer ${kc.token}` } : {}),
          ...(body !== undefined ? { 'content-type': contentType } : {}),
        },
        timeout: 10000,
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode, body: text, json });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout calling ${u.href}`)));
    req.on('error', reject);
    req.end(body !== undefined ? JSON.stringify(body) : undefined);
  });
}

function kubeletConfiguration() {
  // The config file is rendered as JSON (a YAML document too); a YAML one is not read.
  if (!flags.config) return {};
  try {
    return JSON.parse(fs.readFileSync(flags.config, 'utf8'));
  } catch {
    return {};
  }
}

function kubelet() {
  const kc = kubeconfig();
  const config = kubeletConfiguration();
  const address = flags['node-ip'] || flags.address || config.address || '0.0.0.0';
  const nodeName = flags['hostname-override'] || os.hostname();
  const interval = duration(flags['node-status-update-frequency'] || config.nodeStatusUpdateFrequency, 10_000);
  healthServer(
    flags['healthz-port'] || config.healthzPort || 10248,
    flags['healthz-bind-address'] || config.healthzBindAddress || address,
  );
  const since = new Date().toISOString();
  const arch = { x64: 'amd64', arm64: 'arm64' }[process.arch] || process.arch;
  const status = () => ({
    conditions: [
      {
        type: 'Ready',
        status: 'True',
        reason: 'KubeletReady',
        message: 'kube-standin kubelet is posting ready status (it runs no containers)',
        lastHeartbeatTime: new Date().toISOString(),
        lastTransitionTime: since,
      },
    ],
    addresses: [
      { type: 'InternalIP', address },
      { type: 'Hostname', address: nodeName },
    ],
    capacity: { pods: '0', cpu: String(os.cpus().length), memory: `${Math.floor(os.totalmem() / 1024)}Ki` },
    allocatable: { pods: '0', cpu: String(os.cpus().length), memory: `${Math.floor(os.totalmem() / 1024)}Ki` },
    nodeInfo: {
      kubeletVersion: VERSION.gitVersion,
      kubeProxyVersion: VERSION.gitVersion,
      containerRuntimeVersion: 'standin://none',
      operatingSystem: 'linux',
      architecture: arch,
      osImage: `${os.type()} (kube-standin)`,
      kernelVersion: os.release(),
    },
  });
  // As the real kubelet: it registers its node once, when it starts; a node deleted later (the
  // drain script deletes it before the instance goes) stays deleted until the kubelet restarts.
  let registered = false;
  let gone = false;
  const beat = async () => {
    try {
      if (!registered) {
        const r = await call(kc, 'POST', '/api/v1/nodes', {
          metadata: {
            name: nodeName,
            labels: { 'kubernetes.io/hostname': nodeName, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': arch },
          },
          spec: {},
          status: status(),
        });
        if (r.status === 201 || r.status === 409) {
          registered = true;
          log(`node ${nodeName} registered with ${kc.server} (${r.status === 201 ? 'new' : 'existing'})`);
        } else return log(`registering node ${nodeName} with ${kc.server}: HTTP ${r.status}`);
      }
      const r = await call(
        kc,
        'PATCH',
        `/api/v1/nodes/${encodeURIComponent(nodeName)}/status`,
        { status: status() },
        'application/merge-patch+json',
      );
      if (r.status === 404 && !gone) {
        gone = true;
        log(`node ${nodeName} no longer exists (deleted); it is registered again when the kubelet restarts`);
      } else if (r.status === 200) gone = false;
      else if (r.status !== 404) log(`posting the status of node ${nodeName}: HTTP ${r.status}`);
    } catch (err) {
      log(`reaching ${kc.server}: ${err.message}`);
    }
  };
  const loop = async () => {
    await beat();
    setTimeout(loop, registered ? interval : Math.min(interval, 1000));
  };
  void loop();
}

function controllerManager() {
  healthServer(flags['secure-port'] || flags.port || 10257, flags['bind-address'] || flags.address || '127.0.0.1');
  if (!flags.kubeconfig) return log('no --kubeconfig: the node lifecycle controller does not run');
  const kc = kubeconfig();
  const grace = duration(flags['node-monitor-grace-period'], 40_000);
  const period = duration(flags['node-monitor-period'], 5_000);
  log(
    `node lifecycle controller: a node not heard from for ${grace / 1000} s goes NotReady (checked every ${period / 1000} s)`,
  );
  const check = async () => {
    try {
      const r = await call(kc, 'GET', '/api/v1/nodes');
      if (r.status !== 200) return log(`listing nodes: HTTP ${r.status}`);
      const now = Date.now();
      for (const n of r.json.items) {
        const ready = (n.status?.conditions || []).find((c) => c.type === 'Ready');
        if (!ready || ready.status === 'Unknown') continue;
        const last = Date.parse(ready.lastHeartbeatTime || n.metadata.creationTimestamp);
        if (now - last <= grace) continue;
        const patch = {
          status: {
            conditions: [
              {
                type: 'Ready',
                status: 'Unknown',
                reason: 'NodeStatusUnknown',
                message: 'Kubelet stopped posting node status.',
                lastHeartbeatTime: ready.lastHeartbeatTime,
                lastTransitionTime: new Date(now).toISOString(),
              },
            ],
          },
        };
        const p = await call(
          kc,
          'PATCH',
          `/api/v1/nodes/${encodeURIComponent(n.metadata.name)}/status`,
          patch,
          'application/strategic-merge-patch+json',
        );
        if (p.status === 200)
          log(`node ${n.metadata.name}: no status for ${Math.round((now - last) / 1000)} s, NotReady`);
        else if (p.status !== 404) log(`marking node ${n.metadata.name} NotReady: HTTP ${p.status}`);
      }
    } catch (err) {
      log(`node lifecycle controller: ${err.message}`);
    }
  };
  const loop = async () => {
    await check();
    setTimeout(loop, period);
  };
  void loop();
}

async function nodePatch() {
  const kc = kubeconfig();
  const node = flags.node;
  const unschedulable = flags.unschedulable === 'true';
  const r = await call(
    kc,
    'PATCH',
    `/api/v1/nodes/${encodeURIComponent(node)}`,
    { spec: { unschedulable: unschedulable || null } },
    'application/strategic-merge-patch+json',
  );
  if (r.status === 404)
    return void process.stderr.write(
      `node ${node} is not registered; nothing to ${unschedulable ? 'cordon' : 'uncordon'}\n`,
    );
  if (r.status !== 200)
    throw new Error(`${unschedulable ? 'cordoning' : 'uncordoning'} node ${node}: HTTP ${r.status} ${r.body}`);
  process.stderr.write(`node/${node} ${unschedulable ? 'cordoned' : 'uncordoned'}\n`);
}

async function drainNode() {
  const kc = kubeconfig();
  const node = flags.node;
  const enc = encodeURIComponent(node);
  const cordon = await call(
    kc,
    'PATCH',
    `/api/v1/nodes/${enc}`,
    { spec: { unschedulable: true } },
    'application/strategic-merge-patch+json',
  );
  if (cordon.status === 404) return void process.stderr.write(`node ${node} is not registered; nothing to drain\n`);
  if (cordon.status !== 200) throw new Error(`cordoning node ${node}: HTTP ${cordon.status} ${cordon.body}`);
  process.stderr.write(`node/${node} cordoned\n`);
  const pods = await call(kc, 'GET', `/api/v1/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${node}`)}`);
  if (pods.status !== 200) throw new Error(`listing the pods of node ${node}: HTTP ${pods.status}`);
  for (const p of pods.json.items) {
    const d = await call(
      kc,
      'DELETE',
      `/api/v1/namespaces/${encodeURIComponent(p.metadata.namespace)}/pods/${encodeURIComponent(p.metadata.name)}`,
    );
    if (d.status !== 200 && d.status !== 404)
      throw new Error(`deleting pod ${p.metadata.namespace}/${p.metadata.name}: HTTP ${d.status}`);
    process.stderr.write(`pod/${p.metadata.name} deleted\n`);
  }
  const del = await call(kc, 'DELETE', `/api/v1/nodes/${enc}`);
  if (del.status !== 200 && del.status !== 404)
    throw new Error(`deleting node ${node}: HTTP ${del.status} ${del.body}`);
  process.stderr.write(`node/${node} deleted\n`);
}

// apply: what `kubectl apply` does for a new object (create it with the
// kubectl.kubernetes.io/last-applied-configuration annotation) and for an existing one (a merge
// patch from the last applied configuration to this one, the annotation updated).
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
function diffPatch(before, after) {
  const isObj = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);
  const out = {};
  for (const k of Object.keys(before || {})) if (!(k in after)) out[k] = null;
  for (const [k, v] of Object.entries(after)) {
    const b = before?.[k];
    if (isObj(v) && isObj(b)) {
      const sub = diffPatch(b, v);
      if (Object.keys(sub).length) out[k] = sub;
    } else if (JSON.stringify(v) !== JSON.stringify(b)) out[k] = v;
  }
  return out;
}
async function apply() {
  const kc = kubeconfig();
  const target = flags.filename || flags.f;
  if (!target) throw new Error('--filename is required');
  const files = fs.statSync(target).isDirectory()
    ? fs
        .readdirSync(target)
        .filter((f) => f.endsWith('.json'))
        .sort()
        .map((f) => path.join(target, f))
    : [target];
  const discovery = new Map();
  const resourceOf = async (apiVersion, kind) => {
    const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    if (!discovery.has(base)) {
      const r = await call(kc, 'GET', base);
      if (r.status !== 200) throw new Error(`discovering ${apiVersion}: HTTP ${r.status}`);
      discovery.set(base, r.json.resources);
    }
    const res = discovery.get(base).find((x) => x.kind === kind && !x.name.includes('/'));
    if (!res) throw new Error(`no matches for kind "${kind}" in version "${apiVersion}"`);
    return { base, res };
  };
  let failures = 0;
  for (const file of files) {
    const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
    const objects = doc.kind === 'List' ? doc.items : [doc];
    for (const obj of objects) {
      const { base, res } = await resourceOf(obj.apiVersion, obj.kind);
      const ns = res.namespaced ? obj.metadata.namespace || 'default' : undefined;
      const coll = `${base}${ns ? `/namespaces/${encodeURIComponent(ns)}` : ''}/${res.name}`;
      const name = obj.metadata.name;
      const applied = JSON.stringify(obj);
      const label = `${res.kind.toLowerCase()}${base.startsWith('/apis/') ? `.${obj.apiVersion.split('/')[0]}` : ''}/${name}`;
      const cur = await call(kc, 'GET', `${coll}/${encodeURIComponent(name)}`);
      let r;
      if (cur.status === 404) {
        const withAnnotation = {
          ...obj,
          metadata: { ...obj.metadata, annotations: { ...obj.metadata.annotations, [LAST_APPLIED]: applied } },
        };
        r = await call(kc, 'POST', coll, withAnnotation);
        if (r.status === 201) console.log(`${label} created`);
      } else if (cur.status === 200) {
        const last = cur.json.metadata?.annotations?.[LAST_APPLIED];
        const p = diffPatch(last ? JSON.parse(last) : {}, obj);
        p.metadata = { ...p.metadata, annotations: { ...p.metadata?.annotations, [LAST_APPLIED]: applied } };
        r = await call(kc, 'PATCH', `${coll}/${encodeURIComponent(name)}`, p, 'application/merge-patch+json');
        if (r.status === 200) console.log(`${label} ${last === applied ? 'unchanged' : 'configured'}`);
      } else r = cur;
      if (r.status >= 300) {
        failures++;
        console.error(`applying ${label} from ${path.basename(file)}: HTTP ${r.status} ${r.json?.message || r.body}`);
      }
    }
  }
  if (failures) throw new Error(`${failures} objects not applied`);
}

async function getPath() {
  const kc = kubeconfig();
  const r = await call(kc, 'GET', flags.path || '/healthz');
  process.stdout.write(`${r.body}\n`);
  if (r.status !== 200) process.exit(1);
}

const roles = {
  apiserver: () => apiserver(flags, log, VERSION),
  'controller-manager': controllerManager,
  scheduler: () =>
    healthServer(flags['secure-port'] || flags.port || 10259, flags['bind-address'] || flags.address || '127.0.0.1'),
  kubelet,
  proxy: () =>
    healthServer(
      (flags['healthz-bind-address'] || '').split(':')[1] || 10256,
      (flags['healthz-bind-address'] || '0.0.0.0').split(':')[0],
    ),
  'node-patch': nodePatch,
  'drain-node': drainNode,
  apply,
  get: getPath,
};
if (!roles[role]) {
  process.stderr.write(`usage: kube-standin.mjs <${Object.keys(roles).join('|')}> [--flag=value ...]\n`);
  process.exit(2);
}
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
Promise.resolve()
  .then(() => roles[role]())
  .catch((err) => {
    process.stderr.write(`kube-standin ${role}: ${err.message}\n`);
    process.exit(1);
  });
