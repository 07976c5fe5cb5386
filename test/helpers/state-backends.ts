// The two state backends the store's contract suite runs against: SQLite files in temp folders,
// and databases on a real PostgreSQL (test/helpers/postgres.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openState } from '../../src/state/open-state.js';
import type { OpenStateStoreOptions } from '../../src/state/sqlite-state-store.js';
import type { StateStore } from '../../src/state/state-store.js';
import { startPostgres, type TestPostgres } from './postgres.js';

export interface StateBackend {
  readonly name: 'sqlite' | 'postgres';
  /** Before the suite: starts what the backend needs (shared by every suite of the file). */
  setup(): Promise<void>;
  /** After the suite: removes what `fresh` made; the last one stops the server. */
  teardown(): Promise<void>;
  /** A location no store has used yet: a file path or a database URL (without password). */
  fresh(): Promise<string>;
  open(location: string, options?: OpenStateStoreOptions): StateStore;
  /** What a child process needs in its environment to open this backend's locations. */
  childEnv(): Record<string, string>;
}

export function sqliteBackend(): StateBackend {
  const dirs: string[] = [];
  return {
    name: 'sqlite',
    setup: async () => undefined,
    teardown: async () => {
      for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
    },
    fresh: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'director-state-'));
      dirs.push(dir);
      return join(dir, 'state.db');
    },
    open: (location, options = {}) => openState(location, options),
    childEnv: () => ({}),
  };
}

let shared: { pg: Promise<TestPostgres>; users: number } | undefined;

export function postgresBackend(): StateBackend {
  let pg: TestPostgres | undefined;
  return {
    name: 'postgres',
    async setup() {
      shared ??= { pg: startPostgres(), users: 0 };
      shared.users++;
      pg = await shared.pg;
    },
    async teardown() {
      if (shared === undefined) return;
      if (--shared.users === 0) {
        const s = shared;
        shared = undefined;
        await (await s.pg).stop();
      }
    },
    fresh: async () => {
      if (pg === undefined) throw new Error('postgres backend used before setup()');
      return pg.createDatabase();
    },
    open: (location, options = {}) => openState(location, { ...options, ...(pg ? { password: pg.password } : {}) }),
    childEnv: (): Record<string, string> => (pg ? { DIRECTOR_TEST_STATE_PASSWORD: pg.password } : {}),
  };
}

/** How a child process opens a location its parent's backend made. */
export function openFromChild(location: string): StateStore {
  const password = process.env['DIRECTOR_TEST_STATE_PASSWORD'];
  return openState(location, password !== undefined ? { password } : {});
}
