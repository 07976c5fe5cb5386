import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { openStateStore } from '../../../src/state/sqlite-state-store.js';

const mode = (p: string): number => statSync(p).mode & 0o777;

describe('state file modes', () => {
  let dir: string;
  let umask: number;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'director-state-'));
    // A permissive umask proves the modes come from the store, not from the environment.
    umask = process.umask(0);
  });
  afterEach(() => {
    process.umask(umask);
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates missing folders 0700 and the file, its WAL and SHM 0600', () => {
    const home = join(dir, '.director');
    const path = join(home, 'my-env', 'state.db');
    const store = openStateStore(path);
    try {
      store.cloudConfigs.update('networks: []\n'); // a write, so the WAL has content
      assert.equal(mode(home).toString(8), '700');
      assert.equal(mode(join(home, 'my-env')).toString(8), '700');
      assert.equal(mode(path).toString(8), '600');
      assert.ok(existsSync(`${path}-wal`), 'WAL mode keeps a -wal file while open');
      assert.ok(existsSync(`${path}-shm`), 'WAL mode keeps a -shm file while open');
      assert.equal(mode(`${path}-wal`).toString(8), '600');
      assert.equal(mode(`${path}-shm`).toString(8), '600');
    } finally {
      store.close();
    }
  });

  it('tightens an existing state file that others could read', () => {
    const path = join(dir, 'state.db');
    writeFileSync(path, '', { mode: 0o644 });
    assert.equal(mode(path).toString(8), '644');
    const store = openStateStore(path);
    store.close();
    assert.equal(mode(path).toString(8), '600');
  });

  it('leaves an existing folder it did not create alone', () => {
    const shared = join(dir, 'shared');
    mkdirSync(shared, { mode: 0o755 });
    const path = join(shared, 'state.db');
    openStateStore(path).close();
    assert.equal(mode(shared).toString(8), '755');
    assert.equal(mode(path).toString(8), '600');
  });
});
