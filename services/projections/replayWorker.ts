/**
 * The worker thread of `jit replay` (replaySqliteReadModelInWorker, replayPostgresReadModelInWorker
 * in replay.ts): opens its own connection to the database (the SQLite file, or a PostgreSQL pool
 * from the URL) and runs the replay on it, posting progress and the result back. Errors are
 * thrown: the worker's 'error' event carries them to the caller.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { getPostgresEventStore } from '../shared/eventStore/postgresEventStore.js';
import { getSqliteEventStore } from '../shared/eventStore/sqliteEventStore.js';
import { createPgPool } from '../shared/postgres/database.js';
import { openSqliteDatabase } from '../shared/sqlite/database.js';
import { replayPostgresReadModel, replaySqliteReadModel, type ReplayWorkerData, type ReplayWorkerMessage } from './replay.js';

const data = workerData as ReplayWorkerData;
const post = (message: ReplayWorkerMessage) => parentPort!.postMessage(message);
const onProgress = (done: number, total: number) => post({ type: 'progress', done, total });

if (data.kind === 'sqlite') {
  const db = openSqliteDatabase(data.file);
  try {
    const store = getSqliteEventStore(db);
    const { events } = await replaySqliteReadModel(db, store, onProgress, data.options);
    await store.close();
    post({ type: 'done', events });
  } finally {
    db.close();
  }
} else {
  // Two connections: the replay's transaction and the log reads.
  const pool = createPgPool(data.url, { max: 4, applicationName: 'jit-replay' });
  try {
    const store = await getPostgresEventStore(pool);
    try {
      const { events } = await replayPostgresReadModel(pool, store, onProgress, data.options);
      post({ type: 'done', events });
    } finally {
      await store.close();
    }
  } finally {
    await pool.end();
  }
}
