// The state store's contract suite on a real PostgreSQL (started by scripts/test.sh, or by this
// file when run alone), the same suite test/unit/state/store-contract-sqlite.test.ts runs on
// SQLite files.
import { intentContract } from './state-store/intent.js';
import { moveContract } from './state-store/move.js';
import { recordsContract } from './state-store/records.js';
import { tasksContract } from './state-store/tasks.js';
import { postgresBackend, sqliteBackend } from '../helpers/state-backends.js';

const backend = postgresBackend();
recordsContract(backend);
tasksContract(backend);
intentContract(backend);
moveContract(sqliteBackend(), backend);
moveContract(backend, sqliteBackend());
