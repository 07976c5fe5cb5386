// The stand-in API server's storage: etcd v3 through its JSON gateway (POST /v3/kv/..., keys and
// values base64, int64 as strings), with a client certificate, as the real API server keeps its
// objects in etcd. Every write is one etcd transaction that compares the key's revision first, so
// resourceVersion (an object's mod_revision) gives real optimistic concurrency across every
// master behind the load balancer. Watches are etcd watches (POST /v3/watch, a stream of JSON
// messages). The memory backend has the same semantics for a stand-in started without etcd.
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import https from 'node:https';

export class StoreError extends Error {
  /** @param {'AlreadyExists'|'NotFound'|'Conflict'|'Expired'} reason */
  constructor(reason, message) {
    super(message);
    this.reason = reason;
  }
}

const b64 = (s) => Buffer.from(s).toString('base64');
const unb64 = (s) => Buffer.from(s || '', 'base64').toString('utf8');
/** The end of a prefix range: the prefix with its last byte incremented (etcd's range_end). */
const rangeEnd = (prefix) => prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);

/**
 * @typedef {{ key: string, value: object, modRevision: number, createRevision: number }} Entry
 * @typedef {{ type: 'ADDED'|'MODIFIED'|'DELETED', entry: Entry }} Change
 */

export function etcdStore(flags) {
  const servers = flags['etcd-servers'].split(',').filter(Boolean);
  const tls = {
    ca: flags['etcd-cafile'] ? fs.readFileSync(flags['etcd-cafile']) : undefined,
    cert: flags['etcd-certfile'] ? fs.readFileSync(flags['etcd-certfile']) : undefined,
    key: flags['etcd-keyfile'] ? fs.readFileSync(flags['etcd-keyfile']) : undefined,
  };
  const agent = new https.Agent({ keepAlive: true, ...tls });
  const post = (server, path, body) =>
    new Promise((resolve, reject) => {
      const req = https.request(
        new URL(path, server),
        { method: 'POST', agent, headers: { 'content-type': 'application/json' }, timeout: 5000 },
        (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            if (res.statusCode === 200) resolve(JSON.parse(text));
            else reject(new Error(`etcd ${server}${path}: HTTP ${res.statusCode} ${text.slice(0, 200)}`));
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`etcd ${server}: timeout`)));
      req.on('error', reject);
      req.end(JSON.stringify(body));
    });
  let preferred = 0;
  const call = async (path, body) => {
    let last;
    for (let i = 0; i < servers.length; i++) {
      const n = (preferred + i) % servers.length;
      try {
        const r = await post(servers[n], path, body);
        preferred = n;
        return r;
      } catch (err) {
        last = err;
      }
    }
    throw last;
  };
  const entry = (kv) => ({
    key: unb64(kv.key),
    value: JSON.parse(unb64(kv.value)),
    modRevision: Number(kv.mod_revision),
    createRevision: Number(kv.create_revision),
  });
  const txn = (compare, success, failure) => call('/v3/kv/txn', { compare, success, failure });

  return {
    describe: `etcd ${servers.join(',')}`,
    async get(key) {
      const r = await call('/v3/kv/range', { key: b64(key) });
      return r.kvs && r.kvs.length ? entry(r.kvs[0]) : undefined;
    },
    async list(prefix) {
      const r = await call('/v3/kv/range', { key: b64(prefix), range_end: b64(rangeEnd(prefix)) });
      return { entries: (r.kvs || []).map(entry), revision: Number(r.header.revision) };
    },
    /** Creates `key` unless it exists (compare create_revision = 0). Resolves with the new revision. */
    async create(key, value) {
      const r = await txn(
        [{ key: b64(key), target: 'CREATE', result: 'EQUAL', create_revision: '0' }],
        [{ request_put: { key: b64(key), value: b64(JSON.stringify(value)) } }],
        [],
      );
      if (!r.succeeded) throw new StoreError('AlreadyExists', `${key} exists`);
      return Number(r.header.revision);
    },
    /** Replaces `key` if its mod_revision is still `modRevision`. Resolves with the new revision. */
    async update(key, value, modRevision) {
      const r = await txn(
        [{ key: b64(key), target: 'MOD', result: 'EQUAL', mod_revision: String(modRevision) }],
        [{ request_put: { key: b64(key), value: b64(JSON.stringify(value)) } }],
        [{ request_range: { key: b64(key) } }],
      );
      if (!r.succeeded) {
        const found = r.responses?.[0]?.response_range?.kvs?.length;
        throw found ? new StoreError('Conflict', `${key} changed`) : new StoreError('NotFound', `${key} not found`);
      }
      return Number(r.header.revision);
    },
    /** Deletes `key` if its mod_revision is still `modRevision`. Resolves with the revision. */
    async remove(key, modRevision) {
      const r = await txn(
        [{ key: b64(key), target: 'MOD', result: 'EQUAL', mod_revision: String(modRevision) }],
        [{ request_delete_range: { key: b64(key) } }],
        [{ request_range: { key: b64(key) } }],
      );
      if (!r.succeeded) {
        const found = r.responses?.[0]?.response_range?.kvs?.length;
        throw found ? new StoreError('Conflict', `${key} changed`) : new StoreError('NotFound', `${key} not found`);
      }
      return Number(r.header.revision);
    },
    /**
     * Watches keys under `prefix` from revision `from` (inclusive). `onChange(change)` per event,
     * `onEnd(err)` once when the watch ends. Returns a function that stops it.
     */
    watch(prefix, from, onChange, onEnd) {
      let ended = false;
      const end = (err) => {
        if (ended) return;
        ended = true;
        onEnd(err);
      };
      const server = servers[preferred];
      const req = https.request(
        new URL('/v3/watch', server),
        { method: 'POST', ...tls, headers: { 'content-type': 'application/json' } },
        (res) => {
          if (res.statusCode !== 200) return end(new Error(`etcd watch: HTTP ${res.statusCode}`));
          let buf = '';
          res.setEncoding('utf8');
          res.on('data', (chunk) => {
            buf += chunk;
            // The gateway writes one JSON message per line.
            let nl;
            while ((nl = buf.indexOf('\n')) >= 0) {
              const line = buf.slice(0, nl).trim();
              buf = buf.slice(nl + 1);
              if (!line) continue;
              let msg;
              try {
                msg = JSON.parse(line);
              } catch {
                continue;
              }
              const result = msg.result || {};
              if (msg.error) return end(new Error(`etcd watch: ${msg.error.message || JSON.stringify(msg.error)}`));
              if (Number(result.compact_revision || 0) > 0)
                return end(
                  new StoreError('Expired', `too old resource version: ${from - 1} (${result.compact_revision})`),
                );
              for (const ev of result.events || []) {
                if (ev.type === 'DELETE') {
                  const prev = ev.prev_kv ? entry(ev.prev_kv) : { key: unb64(ev.kv.key), value: {}, createRevision: 0 };
                  onChange({ type: 'DELETED', entry: { ...prev, modRevision: Number(ev.kv.mod_revision) } });
                } else {
                  const e = entry(ev.kv);
                  onChange({ type: e.createRevision === e.modRevision ? 'ADDED' : 'MODIFIED', entry: e });
                }
              }
            }
          });
          res.on('end', () => end());
          res.on('error', (err) => end(err));
        },
      );
      req.on('error', (err) => end(err));
      req.end(
        JSON.stringify({
          create_request: {
            key: b64(prefix),
            range_end: b64(rangeEnd(prefix)),
            start_revision: String(from),
            prev_kv: true,
          },
        }),
      );
      return () => {
        ended = true;
        req.destroy();
      };
    },
  };
}

export function memoryStore() {
  /** @type {Map<string, Entry>} */
  const map = new Map();
  /** @type {Change[]} */
  const history = [];
  const bus = new EventEmitter();
  bus.setMaxListeners(0);
  let revision = 1;
  const copy = (e) => JSON.parse(JSON.stringify(e));
  const record = (change) => {
    history.push(change);
    if (history.length > 1000) history.shift();
    bus.emit('change', change);
  };
  const check = (key, modRevision) => {
    const cur = map.get(key);
    if (!cur) throw new StoreError('NotFound', `${key} not found`);
    if (cur.modRevision !== modRevision) throw new StoreError('Conflict', `${key} changed`);
    return cur;
  };
  return {
    describe: 'memory',
    async get(key) {
      return map.has(key) ? copy(map.get(key)) : undefined;
    },
    async list(prefix) {
      const entries = [...map.values()]
        .filter((e) => e.key.startsWith(prefix))
        .sort((a, b) => (a.key < b.key ? -1 : 1));
      return { entries: entries.map(copy), revision };
    },
    async create(key, value) {
      if (map.has(key)) throw new StoreError('AlreadyExists', `${key} exists`);
      const e = { key, value: copy(value), createRevision: ++revision, modRevision: revision };
      map.set(key, e);
      record({ type: 'ADDED', entry: copy(e) });
      return revision;
    },
    async update(key, value, modRevision) {
      const cur = check(key, modRevision);
      const e = { key, value: copy(value), createRevision: cur.createRevision, modRevision: ++revision };
      map.set(key, e);
      record({ type: 'MODIFIED', entry: copy(e) });
      return revision;
    },
    async remove(key, modRevision) {
      const cur = check(key, modRevision);
      map.delete(key);
      record({ type: 'DELETED', entry: { ...copy(cur), modRevision: ++revision } });
      return revision;
    },
    watch(prefix, from, onChange, onEnd) {
      const oldest = history.length ? history[0].entry.modRevision : revision + 1;
      if (from < oldest && from <= revision && history.length >= 1000) {
        void Promise.resolve().then(() => onEnd(new StoreError('Expired', `too old resource version: ${from - 1}`)));
        return () => {};
      }
      for (const c of history) if (c.entry.modRevision >= from && c.entry.key.startsWith(prefix)) onChange(copy(c));
      const listener = (c) => c.entry.key.startsWith(prefix) && c.entry.modRevision >= from && onChange(copy(c));
      bus.on('change', listener);
      return () => bus.off('change', listener);
    },
  };
}
