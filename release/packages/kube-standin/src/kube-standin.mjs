#!/usr/bin/env node
// kube-standin: a STAND-IN for the Kubernetes server binaries, used when the real
// kubernetes-server-linux-amd64 package is not present (it cannot be downloaded everywhere).
// It is NOT Kubernetes. It serves the same ports, TLS and health endpoints so that deploys,
// load balancers, drain scripts and errands have something real to talk to:
//   apiserver           HTTPS /healthz, /version, /api/v1/nodes (list, get, create, PATCH, DELETE)
//                       with client-certificate, bearer-token (--token-auth-file) or basic auth;
//                       nodes are kept in etcd (--etcd-servers, through etcd's v3 JSON gateway
//                       with the --etcd-certfile client certificate) under /registry/minions/,
//                       so every master behind the load balancer sees the same nodes; in
//                       memory when no etcd is given. Updates are read-modify-write (no CAS).
//   controller-manager  HTTP /healthz on --port (10252) at --bind-address
//   scheduler           HTTP /healthz on --port (10251) at --bind-address
//   kubelet             registers its node with --server and heart-beats; HTTP /healthz on 10248
//   proxy               HTTP /healthz on 10256
//   node-patch          one-shot client: cordon/uncordon a node (used by the drain script)
// It accepts the real binaries' flags (--name=value) and ignores the ones it has no use for.
// Plain Node, no dependencies.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';

const [, , role, ...argv] = process.argv;
const flags = {};
for (const a of argv) {
  const m = /^--([^=]+)(?:=(.*))?$/.exec(a);
  if (m) flags[m[1]] = m[2] === undefined ? 'true' : m[2];
}
const log = (msg) => process.stdout.write(`${new Date().toISOString()} kube-standin ${role}: ${msg}\n`);
const VERSION = { major: '1', minor: '14', gitVersion: 'v1.14.3-standin', platform: `${process.platform}/${process.arch}`, standin: true };

function json(res, code, body) {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
function status(res, code, reason, message) {
  json(res, code, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason, message, code });
}
function healthServer(port, address) {
  const srv = http.createServer((req, res) => {
    if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    } else status(res, 404, 'NotFound', 'not found');
  });
  srv.listen(Number(port), address, () => log(`serving /healthz on http://${address}:${port}`));
  return srv;
}
function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
function merge(target, patch) {
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete target[k];
    else if (typeof v === 'object' && !Array.isArray(v) && typeof target[k] === 'object' && target[k] !== null && !Array.isArray(target[k])) merge(target[k], v);
    else target[k] = v;
  }
  return target;
}

function memoryNodes() {
  const map = new Map();
  let revision = 1;
  return {
    get: async (name) => (map.has(name) ? JSON.parse(JSON.stringify(map.get(name))) : undefined),
    list: async () => ({ items: [...map.values()], revision }),
    put: async (name, node) => {
      node.metadata.resourceVersion = String(++revision);
      map.set(name, JSON.parse(JSON.stringify(node)));
    },
    del: async (name) => void map.delete(name),
  };
}

// etcd's v3 JSON gateway (POST /v3/kv/...), keys and values base64, over TLS with a client cert.
function etcdNodes() {
  const servers = flags['etcd-servers'].split(',').filter(Boolean);
  const tls = {
    ca: flags['etcd-cafile'] ? fs.readFileSync(flags['etcd-cafile']) : undefined,
    cert: flags['etcd-certfile'] ? fs.readFileSync(flags['etcd-certfile']) : undefined,
    key: flags['etcd-keyfile'] ? fs.readFileSync(flags['etcd-keyfile']) : undefined,
  };
  const b64 = (s) => Buffer.from(s).toString('base64');
  const prefix = '/registry/minions/';
  const post = (server, path, body) =>
    new Promise((resolve, reject) => {
      const req = https.request(new URL(path, server), { method: 'POST', ...tls, headers: { 'content-type': 'application/json' }, timeout: 5000 }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))) : reject(new Error(`etcd ${path}: HTTP ${res.statusCode}`))));
      });
      req.on('timeout', () => req.destroy(new Error(`etcd ${server}: timeout`)));
      req.on('error', reject);
      req.end(JSON.stringify(body));
    });
  const call = async (path, body) => {
    let last;
    for (const server of servers) {
      try {
        return await post(server, path, body);
      } catch (err) {
        last = err;
      }
    }
    throw last;
  };
  const decode = (kv) => {
    const node = JSON.parse(Buffer.from(kv.value, 'base64').toString('utf8'));
    node.metadata = { ...node.metadata, resourceVersion: String(kv.mod_revision) };
    return node;
  };
  return {
    get: async (name) => {
      const r = await call('/v3/kv/range', { key: b64(prefix + name) });
      return r.kvs && r.kvs.length ? decode(r.kvs[0]) : undefined;
    },
    list: async () => {
      // range_end: the prefix with its last byte incremented
      const end = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
      const r = await call('/v3/kv/range', { key: b64(prefix), range_end: b64(end) });
      return { items: (r.kvs || []).map(decode), revision: r.header.revision };
    },
    put: async (name, node) => {
      const r = await call('/v3/kv/put', { key: b64(prefix + name), value: b64(JSON.stringify(node)) });
      node.metadata.resourceVersion = String(r.header.revision);
    },
    del: async (name) => void (await call('/v3/kv/deleterange', { key: b64(prefix + name) })),
  };
}

function apiserver() {
  const port = Number(flags['secure-port'] || 6443);
  const address = flags['bind-address'] || '0.0.0.0';
  const tokens = new Map();
  if (flags['token-auth-file']) {
    for (const line of fs.readFileSync(flags['token-auth-file'], 'utf8').split('\n')) {
      const [token, user] = line.split(',');
      if (token && user) tokens.set(token.trim(), user.trim());
    }
  }
  const basic = new Map();
  if (flags['basic-auth-file']) {
    for (const line of fs.readFileSync(flags['basic-auth-file'], 'utf8').split('\n')) {
      const [password, user] = line.split(',');
      if (password && user) basic.set(user.trim(), password.trim());
    }
  }
  const nodes = flags['etcd-servers'] ? etcdNodes() : memoryNodes();
  const authenticate = (req) => {
    const cert = req.socket.getPeerCertificate && req.socket.getPeerCertificate();
    if (req.client.authorized && cert && cert.subject) return `cert:${cert.subject.CN}`;
    const h = req.headers.authorization || '';
    if (h.startsWith('Bearer ') && tokens.has(h.slice(7))) return tokens.get(h.slice(7));
    if (h.startsWith('Basic ')) {
      const [u, ...p] = Buffer.from(h.slice(6), 'base64').toString('utf8').split(':');
      if (basic.has(u) && basic.get(u) === p.join(':')) return u;
    }
    return null;
  };
  const server = https.createServer(
    {
      cert: fs.readFileSync(flags['tls-cert-file']),
      key: fs.readFileSync(flags['tls-private-key-file']),
      ...(flags['client-ca-file'] ? { ca: fs.readFileSync(flags['client-ca-file']), requestCert: true, rejectUnauthorized: false } : {}),
    },
    async (req, res) => {
      const url = new URL(req.url, 'https://x');
      if (url.pathname === '/healthz' || url.pathname === '/livez' || url.pathname === '/readyz') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        return res.end('ok');
      }
      if (url.pathname === '/version') return json(res, 200, VERSION);
      const user = authenticate(req);
      if (!user) return status(res, 401, 'Unauthorized', 'Unauthorized');
      const m = /^\/api\/v1\/nodes(?:\/([^/]+))?(\/status)?$/.exec(url.pathname);
      if (!m) return status(res, 404, 'NotFound', `the server could not find the requested resource (${url.pathname})`);
      const name = m[1] && decodeURIComponent(m[1]);
      try {
        if (!name && req.method === 'GET') {
          const { items, revision } = await nodes.list();
          return json(res, 200, { kind: 'NodeList', apiVersion: 'v1', metadata: { resourceVersion: String(revision) }, items });
        }
        if (!name && req.method === 'POST') {
          const node = JSON.parse(await readBody(req));
          const n = node.metadata && node.metadata.name;
          if (!n) return status(res, 422, 'Invalid', 'metadata.name is required');
          if (await nodes.get(n)) return status(res, 409, 'AlreadyExists', `nodes "${n}" already exists`);
          node.kind = 'Node';
          node.apiVersion = 'v1';
          node.metadata.creationTimestamp = new Date().toISOString();
          node.spec = node.spec || {};
          await nodes.put(n, node);
          log(`node ${n} registered by ${user}`);
          return json(res, 201, node);
        }
        if (!name) return status(res, 405, 'MethodNotAllowed', 'method not allowed');
        const node = await nodes.get(name);
        if (!node) return status(res, 404, 'NotFound', `nodes "${name}" not found`);
        if (req.method === 'GET') return json(res, 200, node);
        if (req.method === 'PATCH') {
          merge(node, JSON.parse(await readBody(req)));
          await nodes.put(name, node);
          if (!m[2]) log(`node ${name} patched by ${user} (unschedulable=${Boolean(node.spec.unschedulable)})`);
          return json(res, 200, node);
        }
        if (req.method === 'DELETE') {
          await nodes.del(name);
          log(`node ${name} deleted by ${user}`);
          return json(res, 200, { kind: 'Status', apiVersion: 'v1', status: 'Success' });
        }
        return status(res, 405, 'MethodNotAllowed', 'method not allowed');
      } catch (err) {
        if (err instanceof SyntaxError) return status(res, 400, 'BadRequest', err.message);
        log(`storage: ${err && err.message}`);
        return status(res, 500, 'InternalError', `storage: ${err && err.message}`);
      }
    },
  );
  server.listen(port, address, () => log(`serving the Kubernetes API stand-in on https://${address}:${port} (nodes in ${flags['etcd-servers'] ? `etcd ${flags['etcd-servers']}` : 'memory'})`));
  return server;
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

function call(kc, method, path, body, contentType = 'application/json') {
  return new Promise((resolve, reject) => {
    const u = new URL(path, kc.server);
    const req = https.request(
      u,
      { method, ca: kc.ca, headers: { ...(kc.token ? { authorization: `Bearer ${kc.token}` } : {}), ...(body ? { 'content-type': contentType } : {}) }, timeout: 10000 },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout calling ${u.href}`)));
    req.on('error', reject);
    req.end(body ? JSON.stringify(body) : undefined);
  });
}

function kubelet() {
  const kc = kubeconfig();
  const address = flags.address || '0.0.0.0';
  const nodeName = flags['hostname-override'] || os.hostname();
  const interval = Number(flags['node-status-update-frequency-seconds'] || 10) * 1000;
  healthServer(flags['healthz-port'] || 10248, flags['healthz-bind-address'] || address);
  const ready = () => ({ status: { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kube-standin kubelet is posting ready status', lastHeartbeatTime: new Date().toISOString() }], addresses: [{ type: 'InternalIP', address }], nodeInfo: { kubeletVersion: VERSION.gitVersion } } });
  let registered = false;
  const beat = async () => {
    try {
      if (!registered) {
        const r = await call(kc, 'POST', '/api/v1/nodes', { metadata: { name: nodeName, labels: { 'kubernetes.io/hostname': nodeName } }, spec: {}, ...ready() });
        if (r.status === 201 || r.status === 409) {
          registered = true;
          log(`node ${nodeName} registered with ${kc.server} (${r.status === 201 ? 'new' : 'existing'})`);
        } else log(`registering node ${nodeName} with ${kc.server}: HTTP ${r.status}`);
      }
      if (registered) {
        const r = await call(kc, 'PATCH', `/api/v1/nodes/${encodeURIComponent(nodeName)}/status`, ready(), 'application/merge-patch+json');
        if (r.status === 404) registered = false;
        else if (r.status !== 200) log(`heartbeat for node ${nodeName}: HTTP ${r.status}`);
      }
    } catch (err) {
      log(`reaching ${kc.server}: ${err.message}`);
    }
  };
  void beat();
  setInterval(beat, Math.min(interval, registered ? interval : 2000));
}

async function nodePatch() {
  const kc = kubeconfig();
  const node = flags.node;
  const unschedulable = flags.unschedulable === 'true';
  const r = await call(kc, 'PATCH', `/api/v1/nodes/${encodeURIComponent(node)}`, { spec: { unschedulable } }, 'application/merge-patch+json');
  if (r.status === 404) {
    process.stderr.write(`node ${node} is not registered; nothing to ${unschedulable ? 'cordon' : 'uncordon'}\n`);
    return;
  }
  if (r.status !== 200) throw new Error(`${unschedulable ? 'cordoning' : 'uncordoning'} node ${node}: HTTP ${r.status} ${r.body}`);
  process.stderr.write(`node/${node} ${unschedulable ? 'cordoned' : 'uncordoned'}\n`);
}

async function getPath() {
  const kc = kubeconfig();
  const r = await call(kc, 'GET', flags.path || '/healthz');
  process.stdout.write(`${r.body}\n`);
  if (r.status !== 200) process.exit(1);
}

const roles = {
  apiserver,
  'controller-manager': () => healthServer(flags.port || 10252, flags.address || flags['bind-address'] || '127.0.0.1'),
  scheduler: () => healthServer(flags.port || 10251, flags.address || flags['bind-address'] || '127.0.0.1'),
  kubelet,
  proxy: () => healthServer((flags['healthz-bind-address'] || '').split(':')[1] || 10256, (flags['healthz-bind-address'] || '0.0.0.0').split(':')[0]),
  'node-patch': nodePatch,
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
