/**
 * The worker thread of `jit replay` on SQLite (replaySqliteReadModelInWorker in replay.ts): opens
 * its own connection to the database file and runs the replay on it, posting progress and the
 * result back. Errors are thrown: the worker's 'error' event carries them to the caller.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { getSqliteEventStore } from '../shared/eventStore/sqliteEventStore.js';
import { openSqliteDatabase } from '../shared/sqlite/database.js';
import { replaySqliteReadModel, type SqliteReplayWorkerData, type SqliteReplayWorkerMessage } from './replay.js';

const { file, options } = workerData as SqliteReplayWorkerData;
const post = (message: SqliteReplayWorkerMessage) => parentPort!.postMessage(message);
const db = openSqliteDatabase(file);
try {
  const store = getSqliteEventStore(db);
  const { events } = await replaySqliteReadModel(db, store, (done, total) => post({ type: 'progress', done, total }), options);
  await store.close();
  post({ type: 'done', events });
} finally {
  db.close();
}
