import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { formatErrorChain } from '../../../src/errors.js';
import { StateSchemaError } from '../../../src/state/errors.js';
import { migrations } from '../../../src/state/migrations/index.js';
import type { Migration } from '../../../src/state/migrations/migration.js';
import { openStateStore } from '../../../src/state/sqlite-state-store.js';

// A child process of the concurrent-open test: open the file, report its schema version.
if (process.argv[2] === '--child') {
  const store = openStateStore(process.argv[3] as string);
  store.deployments.ensure(`from-${process.pid}`);
  process.stdout.write(`version ${store.schemaVersion()}\n`);
  store.close();
} else
  describe('state migrations', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'director-state-'));
    });
    afterEach(() => {
      rmSync(dir, { recursive: true, force: true });
    });

    it('migrates an empty file to the latest schema and keeps data across re-opens', () => {
      const path = join(dir, 'state.db');
      const first = openStateStore(path);
      assert.equal(first.schemaVersion(), migrations.length);
      first.cloudConfigs.update('azs: []\n');
      first.deployments.ensure('my-cluster');
      first.close();

      const second = openStateStore(path);
      try {
        assert.equal(second.schemaVersion(), migrations.length);
        assert.equal(second.cloudConfigs.latest()?.content, 'azs: []\n');
        assert.deepEqual(
          second.deployments.list().map((d) => d.name),
          ['my-cluster'],
        );
      } finally {
        second.close();
      }
    });

    it('applies only the migrations a file lacks, each once', () => {
      const path = join(dir, 'state.db');
      const [initial] = migrations;
      assert.ok(initial);
      const older = openStateStore(path, { migrations: [initial] });
      older.deployments.ensure('a');
      older.close();

      const extra: Migration = { version: 2, name: 'extra', sql: 'CREATE TABLE extra (x INTEGER)' };
      const newer = openStateStore(path, { migrations: [initial, extra] });
      assert.equal(newer.schemaVersion(), 2);
      assert.equal(newer.deployments.get('a')?.name, 'a');
      newer.close();
      // Re-applying would fail on CREATE TABLE extra; opening again proves it is skipped.
      const again = openStateStore(path, { migrations: [initial, extra] });
      assert.equal(again.schemaVersion(), 2);
      again.close();
    });

    it('refuses a file whose schema is newer than this director', () => {
      const path = join(dir, 'state.db');
      const future: Migration = {
        version: migrations.length + 1,
        name: 'from-the-future',
        sql: 'CREATE TABLE future (x)',
      };
      openStateStore(path, { migrations: [...migrations, future] }).close();

      assert.throws(
        () => openStateStore(path),
        (err: unknown) => {
          assert.ok(err instanceof StateSchemaError);
          assert.equal(
            err.message,
            `State file '${path}' has schema version ${future.version} (from-the-future), newer than this director supports (${migrations.length}): use a newer director`,
          );
          return true;
        },
      );
    });

    it('refuses a file whose history names a migration this director does not know', () => {
      const path = join(dir, 'state.db');
      const [initial] = migrations;
      assert.ok(initial);
      openStateStore(path, { migrations: [{ ...initial, name: 'someone-elses' }] }).close();
      assert.throws(() => openStateStore(path), {
        name: 'StateSchemaError',
        message: `State file '${path}' records migration 1 'someone-elses', which this director does not know (expected 'initial')`,
      });
    });

    it('rolls a failing migration back entirely', () => {
      const path = join(dir, 'state.db');
      const [initial] = migrations;
      assert.ok(initial);
      const broken: Migration = { version: 2, name: 'broken', sql: 'CREATE TABLE half (x); CREATE TABLE nope (' };
      assert.throws(() => openStateStore(path, { migrations: [initial, broken] }), /Opening state file/);

      const store = openStateStore(path, {
        migrations: [initial, { version: 2, name: 'broken', sql: 'CREATE TABLE half (x)' }],
      });
      try {
        // "half" was rolled back with the failed migration, so creating it again succeeds.
        assert.equal(store.schemaVersion(), 2);
      } finally {
        store.close();
      }
    });

    it('lets two processes create and migrate the same fresh file at once', async () => {
      const path = join(dir, 'fresh', 'state.db');
      const execArgv = process.execArgv.filter((a) => !a.startsWith('--test'));
      const env = { ...process.env };
      delete env.NODE_TEST_CONTEXT;
      const run = () =>
        new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
          const child = spawn(process.execPath, [...execArgv, fileURLToPath(import.meta.url), '--child', path], {
            env,
          });
          let out = '';
          let err = '';
          child.stdout.on('data', (c: Buffer) => (out += c.toString()));
          child.stderr.on('data', (c: Buffer) => (err += c.toString()));
          child.on('close', (code) => resolve({ code, out, err }));
        });
      const results = await Promise.all([run(), run()]);
      for (const r of results) {
        assert.equal(r.code, 0, r.err);
        assert.equal(r.out, `version ${migrations.length}\n`);
      }
      const store = openStateStore(path);
      try {
        assert.equal(store.deployments.list().length, 2);
      } finally {
        store.close();
      }
    });

    it('names the file when it is not a SQLite database', () => {
      const path = join(dir, 'state.db');
      writeFileSync(path, 'this is not sqlite, just text long enough to look like a header..........', { mode: 0o600 });
      assert.throws(
        () => openStateStore(path),
        (err: unknown) => {
          assert.match(formatErrorChain(err), new RegExp(`^Opening state file '${path}': file is not a database`));
          return true;
        },
      );
    });
  });
