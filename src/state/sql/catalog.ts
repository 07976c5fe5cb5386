import { z } from 'zod';
import { StateConflictError } from '../errors.js';
import { fromJsonColumn, toJsonColumn } from '../json.js';
import type { CloudConfigRecord, ReleaseArtifact, ReleaseRecord, StemcellRecord } from '../records.js';
import type { CloudConfigState, ReleaseState, StemcellState } from '../state-store.js';
import { isUniqueViolation, type StoreContext } from './database.js';

interface CloudConfigRow {
  readonly version: number;
  readonly content: string;
  readonly created_at: string;
}

const cloudConfig = (r: CloudConfigRow): CloudConfigRecord => ({
  version: r.version,
  content: r.content,
  createdAt: r.created_at,
});

export function cloudConfigState(ctx: StoreContext): CloudConfigState {
  const { db } = ctx;
  const latest = (): CloudConfigRecord | undefined => {
    const row = db.prepare('SELECT * FROM cloud_configs ORDER BY version DESC LIMIT 1').get() as
      CloudConfigRow | undefined;
    return row && cloudConfig(row);
  };
  return {
    update(content) {
      return db.transaction(() => {
        const cur = latest();
        if (cur !== undefined && cur.content === content) return cur;
        const r = db.prepare('INSERT INTO cloud_configs (content, created_at) VALUES (?, ?)').run(content, ctx.now());
        const row = db
          .prepare('SELECT * FROM cloud_configs WHERE version = ?')
          .get(r.lastInsertRowid) as CloudConfigRow;
        return cloudConfig(row);
      });
    },
    latest,
    get(version) {
      const row = db.prepare('SELECT * FROM cloud_configs WHERE version = ?').get(version) as
        CloudConfigRow | undefined;
      return row && cloudConfig(row);
    },
    list() {
      return (db.prepare('SELECT * FROM cloud_configs ORDER BY version').all() as CloudConfigRow[]).map(cloudConfig);
    },
  };
}

interface StemcellRow {
  readonly name: string;
  readonly version: string;
  readonly os: string;
  readonly cid: string;
  readonly cpi: string;
  readonly created_at: string;
}

const stemcell = (r: StemcellRow): StemcellRecord => ({
  name: r.name,
  version: r.version,
  os: r.os,
  cid: r.cid,
  cpi: r.cpi,
  createdAt: r.created_at,
});

export function stemcellState(ctx: StoreContext): StemcellState {
  const { db } = ctx;
  return {
    add(s) {
      try {
        db.prepare('INSERT INTO stemcells (name, version, os, cid, cpi, created_at) VALUES (?, ?, ?, ?, ?, ?)').run(
          s.name,
          s.version,
          s.os,
          s.cid,
          s.cpi,
          ctx.now(),
        );
      } catch (err) {
        if (isUniqueViolation(err)) {
          throw new StateConflictError(
            `Stemcell '${s.name}/${s.version}' (cid '${s.cid}', CPI '${s.cpi}') is already recorded`,
            { cause: err },
          );
        }
        throw err;
      }
      return stemcell(db.prepare('SELECT * FROM stemcells WHERE cid = ?').get(s.cid) as StemcellRow);
    },
    find(name, version, cpi) {
      const row = (
        cpi === undefined
          ? db.prepare('SELECT * FROM stemcells WHERE name = ? AND version = ? ORDER BY id LIMIT 1').get(name, version)
          : db.prepare('SELECT * FROM stemcells WHERE name = ? AND version = ? AND cpi = ?').get(name, version, cpi)
      ) as StemcellRow | undefined;
      return row && stemcell(row);
    },
    list() {
      return (db.prepare('SELECT * FROM stemcells ORDER BY name, id').all() as StemcellRow[]).map(stemcell);
    },
    remove(cid) {
      return db.prepare('DELETE FROM stemcells WHERE cid = ?').run(cid).changes > 0;
    },
  };
}

const artifacts = z.array(
  z.object({
    name: z.string().min(1),
    fingerprint: z.string(),
    sha1: z.string(),
    blobstorePath: z.string(),
    dependencies: z.array(z.string()),
  }),
) as z.ZodType<readonly ReleaseArtifact[]>;

interface ReleaseRow {
  readonly name: string;
  readonly version: string;
  readonly jobs_json: string;
  readonly packages_json: string;
  readonly created_at: string;
}

const release = (r: ReleaseRow): ReleaseRecord => ({
  name: r.name,
  version: r.version,
  jobs: fromJsonColumn(artifacts, r.jobs_json, `the jobs of release '${r.name}/${r.version}'`),
  packages: fromJsonColumn(artifacts, r.packages_json, `the packages of release '${r.name}/${r.version}'`),
  createdAt: r.created_at,
});

export function releaseState(ctx: StoreContext): ReleaseState {
  const { db } = ctx;
  const find = (name: string, version: string): ReleaseRecord | undefined => {
    const row = db.prepare('SELECT * FROM releases WHERE name = ? AND version = ?').get(name, version) as
      ReleaseRow | undefined;
    return row && release(row);
  };
  return {
    add(r) {
      const what = `release '${r.name}/${r.version}'`;
      const jobs = toJsonColumn(artifacts, r.jobs, `the jobs of ${what}`);
      const packages = toJsonColumn(artifacts, r.packages, `the packages of ${what}`);
      try {
        db.prepare(
          'INSERT INTO releases (name, version, jobs_json, packages_json, created_at) VALUES (?, ?, ?, ?, ?)',
        ).run(r.name, r.version, jobs, packages, ctx.now());
      } catch (err) {
        if (isUniqueViolation(err))
          throw new StateConflictError(`Release '${r.name}/${r.version}' is already recorded`, { cause: err });
        throw err;
      }
      return find(r.name, r.version) as ReleaseRecord;
    },
    find,
    list() {
      return (db.prepare('SELECT * FROM releases ORDER BY name, id').all() as ReleaseRow[]).map(release);
    },
    remove(name, version) {
      return db.prepare('DELETE FROM releases WHERE name = ? AND version = ?').run(name, version).changes > 0;
    },
  };
}
