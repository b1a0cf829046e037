/**
 * jit replay: rebuilds the read model from the event store into fresh tables, then swaps them in.
 * Readers keep the old model until the swap, which happens in one transaction after a final
 * catch-up under the write lock, so no half-built model is ever served and nothing is missed.
 */
import type { EventStore } from '../shared/eventStore/eventStore.js';
import type { SqliteDatabase } from '../shared/sqlite/database.js';
import { LIVE_PROJECTION } from './readModel.js';
import { getSqliteReadModel } from './sqliteReadModel.js';
import { inTransaction, type PgPool } from '../shared/postgres/database.js';
import { getPostgresReadModel } from './postgresReadModel.js';

const BATCH = 5000;

export async function replaySqliteReadModel(
  db: SqliteDatabase,
  store: EventStore,
  onProgress: (done: number, total: number) => void,
): Promise<{ events: number }> {
  const fresh = getSqliteReadModel(db, { suffix: '_replay' });
  await fresh.reset();
  let after = 0;
  let total = await store.headPosition();
  const copy = async (): Promise<void> => {
    for (;;) {
      const batch = await store.readAll({ after, maxCount: BATCH });
      if (batch.length === 0) return;
      await fresh.applyEvents(batch, LIVE_PROJECTION);
      after = batch.at(-1)!.position;
      total = Math.max(total, after);
      onProgress(after, total);
    }
  };
  await copy();
  // Final catch-up and swap while holding the write lock: appends wait, readers see old or new.
  db.exec('BEGIN IMMEDIATE');
  try {
    await copy();
    fresh.swapIntoLive();
    db.exec('COMMIT');
  } catch (error) {
    db.exec('ROLLBACK');
    throw error;
  }
  onProgress(after, after);
  return { events: after };
}

/** The PostgreSQL variant: the final catch-up and the table swap happen under the log-head lock. */
export async function replayPostgresReadModel(
  pool: PgPool,
  store: EventStore,
  onProgress: (done: number, total: number) => void,
): Promise<{ events: number }> {
  const fresh = await getPostgresReadModel(pool, { suffix: '_replay' });
  await fresh.reset();
  let after = 0;
  let total = await store.headPosition();
  const copy = async (apply: (batch: Awaited<ReturnType<EventStore['readAll']>>) => Promise<void>): Promise<void> => {
    for (;;) {
      const batch = await store.readAll({ after, maxCount: BATCH });
      if (batch.length === 0) return;
      await apply(batch);
      after = batch.at(-1)!.position;
      total = Math.max(total, after);
      onProgress(after, total);
    }
  };
  await copy((batch) => fresh.applyEvents(batch, LIVE_PROJECTION));
  await inTransaction(pool, async (client) => {
    // Appends wait on this lock, so the copy below reaches the true head before the swap.
    await client.query('SELECT position FROM jit_log_head FOR UPDATE');
    await copy((batch) => fresh.applyEventsWith(client, batch, LIVE_PROJECTION));
    await fresh.swapIntoLive(client);
  });
  onProgress(after, after);
  return { events: after };
}
