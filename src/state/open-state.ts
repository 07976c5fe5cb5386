import { openPostgresStateStore, isPostgresUrl, type OpenPostgresStateOptions } from './postgres-state-store.js';
import { openStateStore } from './sqlite-state-store.js';
import type { StateStore } from './state-store.js';

/**
 * Opens the state at `location`: a PostgreSQL database when it is a `postgres://` URL, else
 * the SQLite file at that path.
 */
export function openState(location: string, options: OpenPostgresStateOptions = {}): StateStore {
  if (isPostgresUrl(location)) return openPostgresStateStore(location, options);
  const { password: _password, timeoutMs: _timeout, localDir: _localDir, ...sqlite } = options;
  return openStateStore(location, sqlite);
}
