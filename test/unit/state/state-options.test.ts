// How the CLI chooses a state and a blobstore from its flags and environment (no database needed).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { blobstoreSetting, resolveStatePath, setCurrentEnvironment, stateOptions } from '../../../src/cli/context.js';
import type { CliIo } from '../../../src/cli/io.js';
import { displayUrl } from '../../../src/state/index.js';

describe('choosing the state and the blobstore', () => {
  let dir: string;
  const io = (env: Record<string, string>): CliIo => ({
    stdout: new PassThrough(),
    stderr: new PassThrough(),
    stdin: Readable.from(['']),
    env: { DIRECTOR_HOME: join(dir, 'home'), ...env },
    cwd: dir,
    interactive: false,
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'director-state-options-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('takes a postgres:// URL from --state or $DIRECTOR_STATE_URL as it is, a file path relative to the cwd', () => {
    const url = 'postgres://deployer@db.internal:5432/director_prod';
    assert.equal(resolveStatePath(io({}), { state: url }), url);
    assert.equal(resolveStatePath(io({ DIRECTOR_STATE_URL: url }), {}), url);
    assert.equal(resolveStatePath(io({ DIRECTOR_STATE: 'state.db' }), {}), join(dir, 'state.db'));
    assert.equal(resolveStatePath(io({ DIRECTOR_STATE_URL: url }), { state: 'other.db' }), join(dir, 'other.db'));
  });

  it('finds the password in $PGPASSWORD, else the first line of $DIRECTOR_STATE_PASSWORD_FILE, and keeps a folder per database', () => {
    const url = 'postgres://deployer@db.internal:5432/director_prod';
    writeFileSync(join(dir, 'pw'), 's3cret-from-file\nignored\n', { mode: 0o600 });
    assert.equal(stateOptions(io({ DIRECTOR_STATE_PASSWORD_FILE: 'pw' }), url).password, 's3cret-from-file');
    assert.equal(
      stateOptions(io({ DIRECTOR_STATE_PASSWORD_FILE: 'pw', PGPASSWORD: 'from-env' }), url).password,
      'from-env',
    );
    assert.equal(stateOptions(io({}), url).password, undefined);
    assert.equal(stateOptions(io({}), url).localDir, join(dir, 'home', 'remote', 'db.internal-5432-director_prod'));
    assert.deepEqual(stateOptions(io({ PGPASSWORD: 'x' }), join(dir, 'state.db')), {});
    assert.throws(() => stateOptions(io({ DIRECTOR_STATE_PASSWORD_FILE: 'missing' }), url), {
      message: "Reading the state's password file 'missing' ($DIRECTOR_STATE_PASSWORD_FILE)",
    });
  });

  it('never records or shows the password of a URL', () => {
    const url = 'postgres://deployer:hunter2-secret@db.internal:5432/prod';
    assert.equal(displayUrl(url), 'postgres://deployer@db.internal:5432/prod');
    setCurrentEnvironment(io({}), url);
    assert.equal(readFileSync(join(dir, 'home', 'current'), 'utf8'), 'postgres://deployer@db.internal:5432/prod\n');
  });

  it('puts blobs in an Azure container only when $DIRECTOR_BLOBSTORE names one and an account is given', () => {
    assert.equal(blobstoreSetting(io({})), undefined);
    assert.equal(blobstoreSetting(io({ DIRECTOR_BLOBSTORE: 'local' })), undefined);
    assert.deepEqual(
      blobstoreSetting(
        io({
          DIRECTOR_BLOBSTORE: 'azure://director-blobs',
          AZURE_STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true',
        }),
      ),
      {
        container: 'director-blobs',
        account: { connectionString: 'UseDevelopmentStorage=true' },
      },
    );
    assert.deepEqual(
      blobstoreSetting(
        io({ DIRECTOR_BLOBSTORE: 'azure://blobs', AZURE_STORAGE_ACCOUNT: 'acct', AZURE_STORAGE_KEY: 'a2V5' }),
      ),
      {
        container: 'blobs',
        account: { name: 'acct', key: 'a2V5' },
      },
    );
    assert.throws(() => blobstoreSetting(io({ DIRECTOR_BLOBSTORE: 's3://x' })), {
      message:
        "$DIRECTOR_BLOBSTORE: expected 'local' or 'azure://<container>' (a container name: 3-63 lower-case letters, digits and dashes), got 's3://x'",
    });
    assert.throws(
      () => blobstoreSetting(io({ DIRECTOR_BLOBSTORE: 'azure://blobs' })),
      /no account is given: set \$AZURE_STORAGE_CONNECTION_STRING, or \$AZURE_STORAGE_ACCOUNT and \$AZURE_STORAGE_KEY$/,
    );
  });
});
