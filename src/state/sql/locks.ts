import { LockError, StateError } from '../errors.js';
import type { LockHolder, LockRecord, TaskState } from '../records.js';
import type { LockTable } from '../state-store.js';
import type { StoreContext } from './database.js';
import { endTask } from './tasks.js';

interface LockRow {
  readonly name: string;
  readonly task_id: number;
  readonly pid: number;
  readonly hostname: string;
  readonly username: string | null;
  readonly process_start: string | null;
  readonly acquired_at: string;
  readonly expires_at: string | null;
}

const lock = (r: LockRow): LockRecord => ({
  name: r.name,
  taskId: r.task_id,
  holder: {
    pid: r.pid,
    hostname: r.hostname,
    processStart: r.process_start,
    ...(r.username !== null ? { user: r.username } : {}),
  },
  acquiredAt: r.acquired_at,
  expiresAt: r.expires_at,
});

const lockError = (l: LockRecord): LockError =>
  new LockError({
    lockName: l.name,
    taskId: l.taskId,
    pid: l.holder.pid,
    hostname: l.holder.hostname,
    acquiredAt: l.acquiredAt,
    ...(l.holder.user ? { user: l.holder.user } : {}),
  });

/** A lock with no row whose session lock another director holds: it is being released. */
class ReleaseInFlight extends Error {}

export function lockTable(ctx: StoreContext): LockTable {
  const { db } = ctx;
  const self = ctx.probe.self();
  const get = (name: string): LockRecord | undefined => {
    const row = db.prepare('SELECT * FROM locks WHERE name = ?').get(name) as LockRow | undefined;
    return row && lock(row);
  };
  const expiry = (ttlMs: number | undefined): string | null => {
    if (ttlMs === undefined) return null;
    if (!Number.isFinite(ttlMs) || ttlMs <= 0)
      throw new StateError(`Lock expiry must be a positive number of milliseconds, got ${ttlMs}`);
    return new Date(Date.parse(ctx.now()) + ttlMs).toISOString();
  };
  const backing = ctx.lockBacking;
  /** Why the holder of `l` can no longer be holding it, or undefined while it can. */
  const staleness = (l: LockRecord): string | undefined => {
    if (l.expiresAt !== null && Date.parse(l.expiresAt) <= Date.parse(ctx.now())) {
      backing?.take(l.name);
      return `its lock expired at ${l.expiresAt}`;
    }
    if (backing !== undefined) {
      // The holder's session lock: held while its director's connection lives, on any machine.
      if (backing.heldHere(l.name) || !backing.take(l.name)) return undefined;
      const who = l.holder.user ? `${l.holder.user}@${l.holder.hostname}` : l.holder.hostname;
      return `its director (${who}, pid ${l.holder.pid}) lost its session with the state database`;
    }
    if (l.holder.hostname === self.hostname && !ctx.probe.isAlive(l.holder)) {
      return `its process ${l.holder.pid} on host ${l.holder.hostname} is gone`;
    }
    return undefined;
  };

  const attempt = (
    name: string,
    taskId: number,
    options: { readonly holder?: LockHolder; readonly ttlMs?: number },
  ): LockRecord => {
    const given = options.holder ?? self;
    // This process's own holder is recorded with its user, however the caller spelled it.
    const holder: LockHolder =
      given.user === undefined && given.pid === self.pid && given.hostname === self.hostname && self.user !== undefined
        ? { ...given, user: self.user }
        : given;
    const expiresAt = expiry(options.ttlMs);
    // BEGIN IMMEDIATE: the read and the insert below happen under SQLite's write lock, so of two
    // processes racing for the same name exactly one inserts; the other then sees its row.
    return db.transaction(() => {
      const t = db.prepare('SELECT state FROM tasks WHERE id = ?').get(taskId) as { state: TaskState } | undefined;
      if (t === undefined) throw new StateError(`Acquiring lock '${name}': task ${taskId} does not exist`);
      if (t.state !== 'queued' && t.state !== 'processing') {
        throw new StateError(`Acquiring lock '${name}': task ${taskId} has already ended (${t.state})`);
      }
      const cur = get(name);
      if (cur !== undefined && cur.taskId === taskId) {
        backing?.take(name);
        db.prepare(
          'UPDATE locks SET pid = ?, hostname = ?, username = ?, process_start = ?, expires_at = ? WHERE name = ?',
        ).run(holder.pid, holder.hostname, holder.user ?? null, holder.processStart, expiresAt, name);
        return get(name) as LockRecord;
      }
      if (cur !== undefined) {
        const why = staleness(cur);
        if (why === undefined) throw lockError(cur);
        db.prepare('DELETE FROM locks WHERE name = ?').run(name);
        const old = db.prepare('SELECT state FROM tasks WHERE id = ?').get(cur.taskId) as
          { state: TaskState } | undefined;
        const note = `Task ${cur.taskId} abandoned: ${why}; lock '${name}' taken over by task ${taskId}`;
        if (old !== undefined && (old.state === 'queued' || old.state === 'processing'))
          endTask(ctx, cur.taskId, 'error', note);
        db.prepare('INSERT INTO task_debug_log (task_id, time, line) VALUES (?, ?, ?)').run(taskId, ctx.now(), note);
      } else if (backing !== undefined && !backing.take(name)) {
        throw new ReleaseInFlight();
      }
      db.prepare(
        'INSERT INTO locks (name, task_id, pid, hostname, username, process_start, acquired_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ).run(name, taskId, holder.pid, holder.hostname, holder.user ?? null, holder.processStart, ctx.now(), expiresAt);
      return get(name) as LockRecord;
    });
  };

  const acquire: LockTable['acquire'] = (name, taskId, options = {}) => {
    // A lock whose row is gone but whose session lock is still held is being released by its
    // director this very moment (it gives the session lock back right after its commit).
    for (let tries = 1; ; tries++) {
      try {
        return attempt(name, taskId, options);
      } catch (err) {
        if (!(err instanceof ReleaseInFlight) || tries >= 100) {
          if (err instanceof ReleaseInFlight)
            throw new LockError({ lockName: name, taskId: 0, pid: 0, hostname: 'unknown', acquiredAt: ctx.now() });
          throw err;
        }
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
      }
    }
  };

  const release: LockTable['release'] = (name, taskId) =>
    db.transaction(() => {
      const gone = db.prepare('DELETE FROM locks WHERE name = ? AND task_id = ?').run(name, taskId).changes > 0;
      if (gone) backing?.release(name);
      return gone;
    });

  return {
    acquire,
    release,
    renew(name, taskId, ttlMs) {
      const expiresAt = expiry(ttlMs);
      return db.transaction(() => {
        const cur = get(name);
        if (cur === undefined) throw new StateError(`Renewing lock '${name}': task ${taskId} does not hold it`);
        if (cur.taskId !== taskId) throw lockError(cur);
        db.prepare('UPDATE locks SET expires_at = ? WHERE name = ?').run(expiresAt, name);
        return get(name) as LockRecord;
      });
    },
    get,
    list() {
      return (db.prepare('SELECT * FROM locks ORDER BY name').all() as LockRow[]).map(lock);
    },
    async withLock(name, taskId, fn) {
      acquire(name, taskId);
      try {
        return await fn();
      } finally {
        release(name, taskId);
      }
    },
  };
}
