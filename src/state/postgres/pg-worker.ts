// The worker thread that owns a PostgreSQL store's one connection (see sync-worker.ts). It runs
// each request to completion before the next, so the connection's transaction and its session
// advisory locks follow the store's calls exactly.
import pg from 'pg';
import { parseIntoClientConfig } from 'pg-connection-string';
import pgpass from 'pgpass';
import { serveSync } from '../sync-worker.js';
import type { PgRequest, PgSetup } from './pg-protocol.js';

const setup = serveSync<PgSetup>(handle);

const INT8 = 20;
// count(*) and other bigint results arrive as numbers, as they do from SQLite (ids stay far
// below 2^53).
const types = {
  getTypeParser: (oid: number, format?: 'text' | 'binary') =>
    oid === INT8
      ? (v: string) => Number(v)
      : (pg.types.getTypeParser as (o: number, f?: string) => unknown)(oid, format),
};

let client: pg.Client | undefined;

async function connected(): Promise<pg.Client> {
  if (client !== undefined) return client;
  const { password, connectionString, ...config } = setup.config;
  // The URL's parts, not the URL: node-postgres would let the URL's empty password override
  // the one given beside it.
  const { password: inUrl, ...fromUrl } = parseIntoClientConfig(connectionString);
  const known = inUrl !== undefined && inUrl !== '' ? inUrl : password;
  // Without a password from the URL, $PGPASSWORD or a file, the one ~/.pgpass ($PGPASSFILE)
  // names for this host, port, database and user, as libpq would find it.
  const fromPgpass = (): Promise<string> =>
    new Promise((resolve) => {
      pgpass(
        { host: fromUrl.host, port: fromUrl.port ?? 5432, database: fromUrl.database, user: fromUrl.user },
        (pass) => resolve(pass ?? ''),
      );
    });
  const c: pg.Client = new pg.Client({
    ...fromUrl,
    ...config,
    password: known ?? fromPgpass,
    types,
  } as pg.ClientConfig);
  // A connection lost between calls is reported by the next call; without a listener its error
  // event would end the worker.
  c.on('error', () => undefined);
  await c.connect();
  client = c;
  return c;
}

async function handle(req: PgRequest): Promise<unknown> {
  switch (req.op) {
    case 'connect': {
      await connected();
      return null;
    }
    case 'exec': {
      const c = await connected();
      await c.query(req.text);
      return null;
    }
    case 'query': {
      const c = await connected();
      const q = {
        text: req.text,
        values: req.values as unknown[],
        ...(req.name !== undefined ? { name: req.name } : {}),
      };
      if (!req.savepoint) {
        const r = await c.query(q);
        return { rows: r.rows, rowCount: r.rowCount ?? 0 };
      }
      // Inside a transaction a failed statement would abort the whole transaction; SQLite only
      // undoes the statement. A savepoint around it keeps the two stores alike.
      await c.query('SAVEPOINT director_statement');
      try {
        const r = await c.query(q);
        await c.query('RELEASE SAVEPOINT director_statement');
        return { rows: r.rows, rowCount: r.rowCount ?? 0 };
      } catch (err) {
        await c.query('ROLLBACK TO SAVEPOINT director_statement; RELEASE SAVEPOINT director_statement');
        throw err;
      }
    }
    case 'close': {
      const c = client;
      client = undefined;
      if (c !== undefined) await c.end();
      return null;
    }
  }
}
