import type { Migration } from './migration.js';

/**
 * The first schema. Conventions: times are ISO-8601 UTC text; columns ending in `_json` hold
 * JSON (checked by SQLite's json_valid and again at the store's boundary); booleans are 0/1.
 * Written in the SQL SQLite and PostgreSQL share (sql/dialect.ts translates the rest). The
 * tasks' "user" column is quoted because PostgreSQL reserves the word; for SQLite the quotes
 * change nothing, so files made before they were added have the same schema.
 */
export const migration001Initial: Migration = {
  version: 1,
  name: 'initial',
  sql: `
CREATE TABLE environment (
  id                   INTEGER PRIMARY KEY CHECK (id = 1),
  name                 TEXT NOT NULL,
  director_uuid        TEXT NOT NULL,
  cpi_type             TEXT NOT NULL,
  cpi_properties_json  TEXT NOT NULL CHECK (json_valid(cpi_properties_json)),
  ssh_private_key      TEXT NOT NULL,
  ssh_public_key       TEXT NOT NULL,
  host_ca_private_key  TEXT,
  host_ca_public_key   TEXT,
  created_at           TEXT NOT NULL,
  updated_at           TEXT NOT NULL
);

CREATE TABLE cloud_configs (
  version     INTEGER PRIMARY KEY AUTOINCREMENT,
  content     TEXT NOT NULL,
  created_at  TEXT NOT NULL
);

CREATE TABLE stemcells (
  id          INTEGER PRIMARY KEY,
  name        TEXT NOT NULL,
  version     TEXT NOT NULL,
  os          TEXT NOT NULL,
  cid         TEXT NOT NULL UNIQUE,
  cpi         TEXT NOT NULL,
  created_at  TEXT NOT NULL,
  UNIQUE (name, version, cpi)
);

CREATE TABLE releases (
  id                    INTEGER PRIMARY KEY,
  name                  TEXT NOT NULL,
  version               TEXT NOT NULL,
  jobs_json             TEXT NOT NULL CHECK (json_valid(jobs_json)),
  packages_json         TEXT NOT NULL CHECK (json_valid(packages_json)),
  created_at            TEXT NOT NULL,
  UNIQUE (name, version)
);

CREATE TABLE deployments (
  id                    INTEGER PRIMARY KEY,
  name                  TEXT NOT NULL UNIQUE,
  manifest              TEXT,
  cloud_config_version  INTEGER REFERENCES cloud_configs (version),
  created_at            TEXT NOT NULL,
  updated_at            TEXT NOT NULL
);

CREATE TABLE variables (
  id             INTEGER PRIMARY KEY,
  deployment_id  INTEGER NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
  name           TEXT NOT NULL,
  variable_id    TEXT NOT NULL,
  value_json     TEXT NOT NULL CHECK (json_valid(value_json)),
  created_at     TEXT NOT NULL,
  updated_at     TEXT NOT NULL,
  UNIQUE (deployment_id, name)
);

CREATE TABLE instances (
  id                 INTEGER PRIMARY KEY,
  deployment_id      INTEGER NOT NULL REFERENCES deployments (id) ON DELETE RESTRICT,
  group_name         TEXT NOT NULL,
  idx                INTEGER NOT NULL CHECK (idx >= 0),
  uuid               TEXT NOT NULL UNIQUE,
  az                 TEXT,
  bootstrap          INTEGER NOT NULL DEFAULT 0 CHECK (bootstrap IN (0, 1)),
  state              TEXT NOT NULL CHECK (state IN ('started', 'stopped', 'detached')),
  desired_spec_json  TEXT CHECK (desired_spec_json IS NULL OR json_valid(desired_spec_json)),
  applied_spec_json  TEXT CHECK (applied_spec_json IS NULL OR json_valid(applied_spec_json)),
  applied_spec_sha   TEXT,
  created_at         TEXT NOT NULL,
  updated_at         TEXT NOT NULL,
  UNIQUE (deployment_id, group_name, idx)
);

CREATE TABLE vms (
  id                     INTEGER PRIMARY KEY,
  agent_id               TEXT NOT NULL UNIQUE,
  cid                    TEXT UNIQUE,
  instance_id            INTEGER REFERENCES instances (id) ON DELETE RESTRICT,
  stemcell_cid           TEXT,
  ips_json               TEXT NOT NULL CHECK (json_valid(ips_json)),
  cloud_properties_json  TEXT NOT NULL CHECK (json_valid(cloud_properties_json)),
  state                  TEXT NOT NULL CHECK (state IN ('intent', 'created', 'deleting')),
  host_public_key        TEXT,
  created_at             TEXT NOT NULL,
  updated_at             TEXT NOT NULL,
  CHECK ((state = 'intent') = (cid IS NULL))
);
CREATE INDEX vms_instance ON vms (instance_id);
CREATE INDEX vms_state ON vms (state);

CREATE TABLE disks (
  id                     INTEGER PRIMARY KEY,
  cid                    TEXT UNIQUE,
  instance_id            INTEGER REFERENCES instances (id) ON DELETE RESTRICT,
  size_mb                INTEGER NOT NULL CHECK (size_mb > 0),
  cloud_properties_json  TEXT NOT NULL CHECK (json_valid(cloud_properties_json)),
  state                  TEXT NOT NULL CHECK (state IN ('intent', 'attached', 'detached', 'orphaned')),
  active                 INTEGER NOT NULL DEFAULT 0 CHECK (active IN (0, 1)),
  created_at             TEXT NOT NULL,
  updated_at             TEXT NOT NULL,
  CHECK ((state = 'intent') = (cid IS NULL)),
  CHECK (state <> 'orphaned' OR active = 0)
);
CREATE INDEX disks_instance ON disks (instance_id);
CREATE INDEX disks_state ON disks (state);
CREATE UNIQUE INDEX disks_one_active_per_instance ON disks (instance_id) WHERE active = 1;

CREATE TABLE orphaned_disks (
  id           INTEGER PRIMARY KEY,
  cid          TEXT NOT NULL UNIQUE,
  deployment   TEXT NOT NULL,
  instance     TEXT NOT NULL,
  az           TEXT,
  size_mb      INTEGER NOT NULL,
  cloud_properties_json TEXT NOT NULL CHECK (json_valid(cloud_properties_json)),
  orphaned_at  TEXT NOT NULL
);

CREATE TABLE ip_reservations (
  id             INTEGER PRIMARY KEY,
  deployment_id  INTEGER NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
  network        TEXT NOT NULL,
  ip             TEXT NOT NULL,
  instance_id    INTEGER REFERENCES instances (id) ON DELETE CASCADE,
  type           TEXT NOT NULL CHECK (type IN ('static', 'dynamic')),
  created_at     TEXT NOT NULL,
  UNIQUE (network, ip)
);
CREATE INDEX ip_reservations_instance ON ip_reservations (instance_id);

CREATE TABLE tasks (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  description  TEXT NOT NULL,
  deployment   TEXT,
  state        TEXT NOT NULL CHECK (state IN ('queued', 'processing', 'done', 'error', 'cancelled')),
  "user"       TEXT NOT NULL,
  created_at   TEXT NOT NULL,
  started_at   TEXT,
  ended_at     TEXT,
  result       TEXT
);
CREATE INDEX tasks_deployment ON tasks (deployment);
CREATE INDEX tasks_state ON tasks (state);

CREATE TABLE task_events (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  task_id     INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  time        TEXT NOT NULL,
  stage       TEXT NOT NULL,
  tags_json   TEXT NOT NULL CHECK (json_valid(tags_json)),
  idx         INTEGER NOT NULL,
  total       INTEGER NOT NULL,
  task        TEXT NOT NULL,
  state       TEXT NOT NULL CHECK (state IN ('started', 'in_progress', 'finished', 'failed')),
  progress    INTEGER NOT NULL CHECK (progress BETWEEN 0 AND 100),
  error       TEXT,
  data_json   TEXT CHECK (data_json IS NULL OR json_valid(data_json))
);
CREATE INDEX task_events_task ON task_events (task_id, id);

CREATE TABLE task_debug_log (
  id       INTEGER PRIMARY KEY AUTOINCREMENT,
  task_id  INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  time     TEXT NOT NULL,
  line     TEXT NOT NULL
);
CREATE INDEX task_debug_log_task ON task_debug_log (task_id, id);

CREATE TABLE locks (
  name           TEXT PRIMARY KEY,
  task_id        INTEGER NOT NULL REFERENCES tasks (id),
  pid            INTEGER NOT NULL,
  hostname       TEXT NOT NULL,
  process_start  TEXT,
  acquired_at    TEXT NOT NULL,
  expires_at     TEXT
);
`,
};
