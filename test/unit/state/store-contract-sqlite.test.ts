// The state store's contract suite on SQLite files; test/contract/state-store-postgres.test.ts
// runs the same suite on PostgreSQL.
import { intentContract } from '../../contract/state-store/intent.js';
import { moveContract } from '../../contract/state-store/move.js';
import { recordsContract } from '../../contract/state-store/records.js';
import { tasksContract } from '../../contract/state-store/tasks.js';
import { sqliteBackend } from '../../helpers/state-backends.js';

const backend = sqliteBackend();
recordsContract(backend);
tasksContract(backend);
intentContract(backend);
moveContract(backend, sqliteBackend());
