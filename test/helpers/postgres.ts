// A real PostgreSQL for tests. scripts/test.sh starts one cluster for the whole run and passes
// it as DIRECTOR_TEST_POSTGRES (URL) + DIRECTOR_TEST_POSTGRES_PASSWORD; a test file run alone
// starts its own with scripts/test-postgres.sh and stops it afterwards. Every store a test opens
// gets a database of its own, so tests never see each other's rows.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const SCRIPT = fileURLToPath(new URL('../../../scripts/test-postgres.sh', import.meta.url));

export interface TestPostgres {
  /** The cluster's admin URL (no password). */
  readonly url: string;
  readonly password: string;
  /** A new empty database; its URL (no password). */
  createDatabase(): Promise<string>;
  /** Drops the databases made here and, when this file started the cluster, stops it. */
  stop(): Promise<void>;
}

/** The URL of database `db` on the cluster of `url`. */
export function databaseUrl(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

export async function startPostgres(): Promise<TestPostgres> {
  let url = process.env['DIRECTOR_TEST_POSTGRES'];
  let password = process.env['DIRECTOR_TEST_POSTGRES_PASSWORD'];
  let own: string | undefined;
  if (url === undefined || password === undefined) {
    own = mkdtempSync(join(tmpdir(), 'director-test-pg-'));
    chmodSync(own, 0o711); // the cluster's owner ('nobody' when we are root) must reach into it
    url = execFileSync('bash', [SCRIPT, 'start', join(own, 'pg')], { encoding: 'utf8' }).trim();
    password = readFileSync(join(own, 'pg', 'password'), 'utf8').trim();
    const dir = own;
    process.once('exit', () => {
      try {
        execFileSync('bash', [SCRIPT, 'stop', join(dir, 'pg')]);
        rmSync(dir, { recursive: true, force: true });
      } catch {
        // best effort at exit
      }
    });
  }
  const withPassword = new URL(url);
  withPassword.password = encodeURIComponent(password);
  const admin = new pg.Client({ connectionString: withPassword.toString() });
  await admin.connect();
  const made: string[] = [];
  const cluster = url;
  return {
    url: cluster,
    password,
    async createDatabase() {
      const name = `t_${randomBytes(6).toString('hex')}`;
      await admin.query(`CREATE DATABASE ${name} STRATEGY FILE_COPY`);
      made.push(name);
      return databaseUrl(cluster, name);
    },
    async stop() {
      for (const name of made.splice(0)) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
      if (own !== undefined) {
        execFileSync('bash', [SCRIPT, 'stop', join(own, 'pg')]);
        rmSync(own, { recursive: true, force: true });
      }
    },
  };
}
