/**
 * jit replay: rebuilds the read model from the event store into fresh tables, then swaps them in.
 * Readers keep the old model until the swap, which happens in one transaction after a final
 * catch-up under the write lock, so no half-built model is ever served and nothing is missed.
 *
 * The fresh model is written by nobody else, so replay folds the log in memory and writes each
 * user's rows once per flush (not once per batch that touches the user), and reads the next batch
 * while it folds the current one.
 */
import type { RawRecordedEvent } from '../../events/envelope.js';
import type { EventStore } from '../shared/eventStore/eventStore.js';
import type { SqliteDatabase } from '../shared/sqlite/database.js';
import { LIVE_PROJECTION } from './readModel.js';
import { getSqliteReadModel } from './sqliteReadModel.js';
import { inTransaction, type PgClient, type PgPool } from '../shared/postgres/database.js';
import { getPostgresReadModel, postgresReadModelTables, type PostgresReadModel } from './postgresReadModel.js';
import { projectUsers, userIdOfStream, isUserStreamEvent, type ProjectedUser } from './userProjection.js';

const BATCH = 5000;
/**
 * User states kept in memory. Rows are written when this many users have changed (or at the end),
 * so a log of fewer users writes each user's rows exactly once; past it the written states are
 * dropped from memory and re-read from the fresh tables when needed.
 */
const MAX_CACHED_USERS = 200_000;
/** Users per write statement. */
const WRITE_CHUNK = 5000;

type FoldTarget = Readonly<{
  load(userIds: readonly string[]): Promise<ReadonlyMap<string, ProjectedUser>> | ReadonlyMap<string, ProjectedUser>;
  save(users: ReadonlyMap<string, ProjectedUser>, checkpoint: number): Promise<void> | void;
}>;

/** Folds batches of the log onto an in-memory cache of user states and writes the changed users on flush. */
function replayFold() {
  const cache = new Map<string, ProjectedUser>();
  let dirty = new Map<string, ProjectedUser>();
  let evicted = false;
  let folded = 0;
  let saved = -1;
  const flush = async (target: FoldTarget) => {
    if (folded === saved) return;
    await target.save(dirty, folded);
    saved = folded;
    dirty = new Map();
    if (cache.size >= MAX_CACHED_USERS) {
      cache.clear();
      evicted = true;
    }
  };
  return {
    async add(batch: readonly RawRecordedEvent[], target: FoldTarget): Promise<void> {
      if (evicted) {
        const missing = [...new Set(batch.filter(isUserStreamEvent).map((e) => userIdOfStream(e.streamId)))].filter((id) => !cache.has(id));
        if (missing.length > 0) for (const [id, user] of await target.load(missing)) cache.set(id, user);
      }
      for (const [id, user] of projectUsers(batch, (id) => cache.get(id))) {
        cache.set(id, user);
        dirty.set(id, user);
      }
      folded = batch.at(-1)!.position;
      if (dirty.size >= MAX_CACHED_USERS) await flush(target);
    },
    flush,
  };
}

/** Reads the log from `after` in batches, the next read overlapping the handling of the current batch. */
async function copyLog(store: EventStore, after: number, handle: (batch: RawRecordedEvent[]) => Promise<void>): Promise<number> {
  let next = store.readAll({ after, maxCount: BATCH });
  for (;;) {
    const batch = await next;
    if (batch.length === 0) return after;
    after = batch.at(-1)!.position;
    next = store.readAll({ after, maxCount: BATCH });
    // An abandoned read must not become an unhandled rejection if handling fails.
    next.catch(() => undefined);
    await handle(batch);
  }
}

function chunks<K, V>(map: ReadonlyMap<K, V>, size: number): Map<K, V>[] {
  const out: Map<K, V>[] = [];
  let current = new Map<K, V>();
  for (const [k, v] of map) {
    current.set(k, v);
    if (current.size === size) {
      out.push(current);
      current = new Map();
    }
  }
  if (current.size > 0) out.push(current);
  return out;
}

export async function replaySqliteReadModel(
  db: SqliteDatabase,
  store: EventStore,
  onProgress: (done: number, total: number) => void,
): Promise<{ events: number }> {
  const fresh = getSqliteReadModel(db, { suffix: '_replay' });
  await fresh.reset();
  const fold = replayFold();
  const target: FoldTarget = {
    load: (ids) => new Map(ids.flatMap((id) => {
      const user = fresh.loadUser(id);
      return user ? [[id, user] as const] : [];
    })),
    save: (users, checkpoint) => fresh.saveUsers(users, LIVE_PROJECTION, checkpoint),
  };
  let total = await store.headPosition();
  const copy = (after: number) =>
    copyLog(store, after, async (batch) => {
      await fold.add(batch, target);
      const done = batch.at(-1)!.position;
      total = Math.max(total, done);
      onProgress(done, total);
    });
  let after = await copy(0);
  await fold.flush(target);
  // Final catch-up and swap while holding the write lock: appends wait, readers see old or new.
  db.exec('BEGIN IMMEDIATE');
  try {
    after = await copy(after);
    await fold.flush(target);
    fresh.swapIntoLive();
    db.exec('COMMIT');
  } catch (error) {
    db.exec('ROLLBACK');
    throw error;
  }
  onProgress(after, after);
  return { events: after };
}

function postgresTarget(fresh: PostgresReadModel, run: <T>(work: (client: PgClient) => Promise<T>) => Promise<T>): FoldTarget {
  return {
    load: (ids) => run((client) => fresh.loadUsersWith(client, ids)),
    save: (users, checkpoint) =>
      run(async (client) => {
        for (const chunk of chunks(users, WRITE_CHUNK)) await fresh.saveUsersWith(client, chunk);
        await fresh.saveCheckpointWith(client, LIVE_PROJECTION, checkpoint);
      }),
  };
}

/** The PostgreSQL variant: the final catch-up and the table swap happen under the log-head lock. */
export async function replayPostgresReadModel(
  pool: PgPool,
  store: EventStore,
  onProgress: (done: number, total: number) => void,
): Promise<{ events: number }> {
  const fresh = await getPostgresReadModel(pool, { suffix: '_replay' });
  await fresh.reset();
  const fold = replayFold();
  let total = await store.headPosition();
  const copy = (after: number, target: FoldTarget) =>
    copyLog(store, after, async (batch) => {
      await fold.add(batch, target);
      const done = batch.at(-1)!.position;
      total = Math.max(total, done);
      onProgress(done, total);
    });
  const outside = postgresTarget(fresh, (work) => inTransaction(pool, work));
  let after = await copy(0, outside);
  await fold.flush(outside);
  await inTransaction(pool, async (client) => {
    // Appends wait on this lock, so the copy below reaches the true head before the swap.
    await client.query('SELECT position FROM jit_log_head FOR UPDATE');
    const inside = postgresTarget(fresh, (work) => work(client));
    after = await copy(after, inside);
    await fold.flush(inside);
    await fresh.swapIntoLive(client);
  });
  // Freshly bulk-written tables have no planner statistics yet: the list queries need them now.
  const live = postgresReadModelTables('');
  await pool.query(`ANALYZE ${live.users}, ${live.groups}, ${live.identities}`);
  onProgress(after, after);
  return { events: after };
}
