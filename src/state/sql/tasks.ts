import { StateError } from '../errors.js';
import { fromJsonColumn, jsonSchemas, toJsonColumn } from '../json.js';
import type { TaskDebugLine, TaskEventRecord, TaskEventState, TaskRecord, TaskState } from '../records.js';
import { redactJson } from '../redactor.js';
import type { TaskLog } from '../state-store.js';
import type { StoreContext } from './database.js';

interface TaskRow {
  readonly id: number;
  readonly description: string;
  readonly deployment: string | null;
  readonly state: TaskState;
  readonly user: string;
  readonly created_at: string;
  readonly started_at: string | null;
  readonly ended_at: string | null;
  readonly result: string | null;
}

interface EventRow {
  readonly id: number;
  readonly task_id: number;
  readonly time: string;
  readonly stage: string;
  readonly tags_json: string;
  readonly idx: number;
  readonly total: number;
  readonly task: string;
  readonly state: TaskEventState;
  readonly progress: number;
  readonly error: string | null;
  readonly data_json: string | null;
}

const EVENT_STATES: readonly TaskEventState[] = ['started', 'in_progress', 'finished', 'failed'];
const FINISHED: readonly TaskState[] = ['done', 'error', 'cancelled'];

const task = (r: TaskRow): TaskRecord => ({
  id: r.id,
  description: r.description,
  deployment: r.deployment,
  state: r.state,
  user: r.user,
  createdAt: r.created_at,
  startedAt: r.started_at,
  endedAt: r.ended_at,
  result: r.result,
});

/** Ends a task and drops its locks; shared by `finish` and stale-lock takeover. */
export function endTask(ctx: StoreContext, id: number, state: 'done' | 'error' | 'cancelled', result: string): void {
  ctx.db
    .prepare('UPDATE tasks SET state = ?, result = ?, ended_at = ? WHERE id = ?')
    .run(state, ctx.redactor.apply(result), ctx.now(), id);
  const held = ctx.db.prepare('SELECT name FROM locks WHERE task_id = ?').all(id) as { name: string }[];
  ctx.db.prepare('DELETE FROM locks WHERE task_id = ?').run(id);
  for (const l of held) ctx.lockBacking?.release(l.name);
}

export function taskLog(ctx: StoreContext): TaskLog {
  const { db } = ctx;
  const get = (id: number): TaskRecord | undefined => {
    const row = db.prepare('SELECT * FROM tasks WHERE id = ?').get(id) as TaskRow | undefined;
    return row && task(row);
  };
  const mustGet = (id: number, doing: string): TaskRecord => {
    const t = get(id);
    if (t === undefined) throw new StateError(`${doing}: task ${id} does not exist`);
    return t;
  };
  const eventRecord = (r: EventRow, seq: number): TaskEventRecord => ({
    taskId: r.task_id,
    seq,
    time: r.time,
    stage: r.stage,
    tags: fromJsonColumn(jsonSchemas.strings, r.tags_json, `the tags of an event of task ${r.task_id}`),
    index: r.idx,
    total: r.total,
    task: r.task,
    state: r.state,
    progress: r.progress,
    error: r.error,
    data:
      r.data_json === null
        ? null
        : fromJsonColumn(jsonSchemas.object, r.data_json, `the data of an event of task ${r.task_id}`),
  });
  const allEvents = (id: number): TaskEventRecord[] =>
    (db.prepare('SELECT * FROM task_events WHERE task_id = ? ORDER BY id').all(id) as EventRow[]).map((r, i) =>
      eventRecord(r, i + 1),
    );

  return {
    create(t) {
      const r = db
        .prepare(`INSERT INTO tasks (description, deployment, state, "user", created_at) VALUES (?, ?, 'queued', ?, ?)`)
        .run(t.description, t.deployment ?? null, t.user, ctx.now());
      return get(Number(r.lastInsertRowid)) as TaskRecord;
    },
    start(id) {
      return db.transaction(() => {
        const t = mustGet(id, 'Starting task');
        if (t.state !== 'queued') throw new StateError(`Starting task ${id}: it is ${t.state}, not queued`);
        db.prepare("UPDATE tasks SET state = 'processing', started_at = ? WHERE id = ?").run(ctx.now(), id);
        return get(id) as TaskRecord;
      });
    },
    event(id, e) {
      const doing = `Recording an event of task ${id}`;
      if (!EVENT_STATES.includes(e.state)) throw new StateError(`${doing}: unknown event state '${String(e.state)}'`);
      if (!Number.isInteger(e.index) || !Number.isInteger(e.total) || e.index < 0 || e.total < 0) {
        throw new StateError(`${doing}: index and total must be whole numbers (got ${e.index} of ${e.total})`);
      }
      const progress = e.progress ?? (e.state === 'started' ? 0 : e.state === 'in_progress' ? 0 : 100);
      if (!Number.isInteger(progress) || progress < 0 || progress > 100) {
        throw new StateError(`${doing}: progress must be a whole number 0..100, got ${progress}`);
      }
      const tags = toJsonColumn(jsonSchemas.strings, e.tags, `the tags of an event of task ${id}`);
      const data =
        e.data === undefined
          ? null
          : toJsonColumn(
              jsonSchemas.value,
              redactJson(e.data, (t) => ctx.redactor.apply(t)),
              `the data of an event of task ${id}`,
            );
      return db.transaction(() => {
        const t = mustGet(id, doing);
        if (FINISHED.includes(t.state)) throw new StateError(`${doing}: the task has already ended (${t.state})`);
        const r = db
          .prepare(
            `INSERT INTO task_events (task_id, time, stage, tags_json, idx, total, task, state, progress, error, data_json)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(
            id,
            ctx.now(),
            e.stage,
            tags,
            e.index,
            e.total,
            ctx.redactor.apply(e.task),
            e.state,
            progress,
            e.error === undefined ? null : ctx.redactor.apply(e.error),
            data,
          );
        const row = db.prepare('SELECT * FROM task_events WHERE id = ?').get(r.lastInsertRowid) as EventRow;
        const { seq } = db
          .prepare('SELECT count(*) AS seq FROM task_events WHERE task_id = ? AND id <= ?')
          .get(id, row.id) as { seq: number };
        return eventRecord(row, seq);
      });
    },
    debug(id, line) {
      db.transaction(() => {
        mustGet(id, 'Writing the debug log');
        db.prepare('INSERT INTO task_debug_log (task_id, time, line) VALUES (?, ?, ?)').run(
          id,
          ctx.now(),
          ctx.redactor.apply(line),
        );
      });
    },
    finish(id, state, result) {
      return db.transaction(() => {
        const t = mustGet(id, 'Finishing task');
        if (FINISHED.includes(t.state)) throw new StateError(`Finishing task ${id}: it has already ended (${t.state})`);
        if (!FINISHED.includes(state))
          throw new StateError(`Finishing task ${id}: '${String(state)}' is not a final state`);
        endTask(ctx, id, state, result);
        return get(id) as TaskRecord;
      });
    },
    get,
    list(filter = {}) {
      const where: string[] = [];
      const params: unknown[] = [];
      if (filter.deployment !== undefined) {
        where.push('deployment = ?');
        params.push(filter.deployment);
      }
      if (filter.states !== undefined) {
        where.push(`state IN (${filter.states.map(() => '?').join(', ') || 'NULL'})`);
        params.push(...filter.states);
      }
      let sql = `SELECT * FROM tasks${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC`;
      if (filter.recent !== undefined) {
        sql += ' LIMIT ?';
        params.push(Math.max(0, Math.floor(filter.recent)));
      }
      return (db.prepare(sql).all(...params) as TaskRow[]).map(task);
    },
    events(id, afterSeq = 0) {
      return allEvents(id).filter((e) => e.seq > afterSeq);
    },
    debugLog(id) {
      return db
        .prepare('SELECT time, line FROM task_debug_log WHERE task_id = ? ORDER BY id')
        .all(id) as TaskDebugLine[];
    },
  };
}
