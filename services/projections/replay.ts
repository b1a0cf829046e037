/**
 * jit replay: rebuilds the read model from the event store into fresh tables, then swaps them in.
 * Readers keep the old model until the swap, which happens in one transaction after a final
 * catch-up under the write lock, so no half-built model is ever served and nothing is missed.
 *
 * The fresh model is written by nobody else, so replay folds the log in memory, in place (see
 * replayFold.ts), reading the next batch while it folds the current one. At the end of the log
 * every user is written at once into tables without indexes (COPY on PostgreSQL, large
 * transactions on SQLite) and the indexes are built after; the catch-up under the lock then
 * upserts the users it changes. A log of more users than `maxCachedUsers` is bulk loaded when the
 * cache fills, and the rest of it takes the upsert path, with the cache emptied at each flush and
 * users re-read from the fresh tables when needed, so memory stays bounded. `jit replay` on SQLite
 * runs on a worker thread whose young generation fits a batch (replaySqliteReadModelInWorker).
 */
import { Worker } from 'node:worker_threads';
import type { RawRecordedEvent } from '../../events/envelope.js';
import type { EventStore } from '../shared/eventStore/eventStore.js';
import type { SqliteDatabase } from '../shared/sqlite/database.js';
import { LIVE_PROJECTION } from './readModel.js';
import { getSqliteReadModel, type SqliteReadModel } from './sqliteReadModel.js';
import { inTransaction, type PgClient, type PgPool } from '../shared/postgres/database.js';
import { getPostgresReadModel, postgresReadModelTables, type PostgresReadModel } from './postgresReadModel.js';
import { foldBatchInPlace, ownedReplayUser, type ReplayUser } from './replayFold.js';
import { userIdOfStream, isUserStreamEvent, type ProjectedUser } from './userProjection.js';

const BATCH = 5000;
/** Users per write statement of the upsert path. */
const WRITE_CHUNK = 5000;

export type ReplayOptions = {
  /** Events per read of the log (default 5000; bench/replay.ts reads its baseline in the same size). */
  batchSize?: number;
  /**
   * Users kept in memory (default 200,000). A log of at most this many users is written once, in
   * bulk, at its end; past it, written states are dropped from memory and re-read when needed.
   */
  maxCachedUsers?: number;
};

const DEFAULT_MAX_CACHED_USERS = 200_000;
/** SQLite page cache of the replaying connection, in KiB (restored afterwards). */
const REPLAY_SQLITE_CACHE_KIB = 256 * 1024;

type FoldTarget = Readonly<{
  /** Writes every user into the empty tables (once), then builds their indexes. */
  bulkLoad(users: ReadonlyMap<string, ProjectedUser>, checkpoint: number): Promise<void> | void;
  /** Stored states of these users (freshly parsed: the fold may change them in place). */
  load(userIds: readonly string[]): Promise<ReadonlyMap<string, ProjectedUser>> | ReadonlyMap<string, ProjectedUser>;
  /** Upserts these users and sets the checkpoint. */
  save(users: ReadonlyMap<string, ProjectedUser>, checkpoint: number): Promise<void> | void;
}>;

/** Folds batches of the log in memory; writes everything in bulk once, then upserts changed users on flush. */
function replayFold(maxCachedUsers: number) {
  const cache = new Map<string, ReplayUser>();
  let dirty = new Map<string, ReplayUser>();
  /** The tables hold every user up to `saved`: from then on changes are upserted. */
  let loaded = false;
  /** The cache no longer holds every user: missing ones are read from the tables. */
  let evicted = false;
  let folded = 0;
  let saved = -1;
  /** Users were upserted after the bulk load. */
  let upserted = false;
  const markDirty = (id: string, user: ReplayUser) => dirty.set(id, user);
  const noteChanged = () => undefined;
  const evictIfFull = () => {
    if (cache.size < maxCachedUsers) return;
    cache.clear();
    evicted = true;
  };
  const flush = async (target: FoldTarget) => {
    if (!loaded) {
      await target.bulkLoad(cache, folded);
      loaded = true;
      saved = folded;
      evictIfFull();
      return;
    }
    if (folded === saved) return;
    await target.save(dirty, folded);
    if (dirty.size > 0) upserted = true;
    saved = folded;
    dirty = new Map();
    evictIfFull();
  };
  return {
    async add(batch: readonly RawRecordedEvent[], target: FoldTarget): Promise<void> {
      let stored: ReadonlyMap<string, ProjectedUser> | undefined;
      if (evicted) {
        const missing = [...new Set(batch.filter(isUserStreamEvent).map((e) => userIdOfStream(e.streamId)))].filter((id) => !cache.has(id));
        if (missing.length > 0) stored = await target.load(missing);
      }
      const fromStore = stored;
      foldBatchInPlace(cache, batch, loaded ? markDirty : noteChanged, fromStore && ((id) => {
        const user = fromStore.get(id);
        return user && ownedReplayUser(user);
      }));
      folded = batch.at(-1)!.position;
      if (loaded ? dirty.size >= maxCachedUsers : cache.size > maxCachedUsers) await flush(target);
    },
    flush,
    upserted: () => upserted,
  };
}

/**
 * Reads the log from `after` in batches. With `prefetch` the next read overlaps the handling of
 * the current batch (PostgreSQL answers it meanwhile); SQLite reads synchronously, where reading
 * ahead would only keep two batches alive at once.
 */
async function copyLog(
  store: EventStore,
  after: number,
  handle: (batch: RawRecordedEvent[]) => Promise<void>,
  options: { prefetch: boolean; batchSize: number },
): Promise<number> {
  const maxCount = options.batchSize;
  let next = store.readAll({ after, maxCount });
  for (;;) {
    const batch = await next;
    if (batch.length === 0) return after;
    after = batch.at(-1)!.position;
    if (options.prefetch) {
      next = store.readAll({ after, maxCount });
      // An abandoned read must not become an unhandled rejection if handling fails.
      next.catch(() => undefined);
      await handle(batch);
    } else {
      await handle(batch);
      next = store.readAll({ after, maxCount });
    }
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
  options: ReplayOptions = {},
): Promise<{ events: number }> {
  const fresh = getSqliteReadModel(db, { suffix: '_replay', bulkLoad: true });
  // The bulk load and the index builds of the swap work on far more pages than the default cache holds.
  const cacheSize = db.pragma('cache_size', { simple: true }) as number;
  db.pragma(`cache_size = ${-REPLAY_SQLITE_CACHE_KIB}`);
  try {
    return await replaySqlite(db, store, onProgress, fresh, options);
  } finally {
    db.pragma(`cache_size = ${cacheSize}`);
  }
}

/** What a replay worker (replayWorker.ts) is handed: the database to open and the replay's options. */
export type ReplayWorkerData = { kind: 'sqlite'; file: string; options: ReplayOptions } | { kind: 'postgres'; url: string; options: ReplayOptions };
export type ReplayWorkerMessage = { type: 'progress'; done: number; total: number } | { type: 'done'; events: number };

/**
 * Young generation of the replay worker, in MiB. Replay keeps every folded user (old space) while
 * it parses batch after batch of events that die young; with the default young generation a batch
 * outlives a few scavenges, is promoted, and the old space's mark-compacts then walk every user
 * again and again. Sized so that a batch dies where it was born.
 */
const REPLAY_YOUNG_GENERATION_MIB = 192;

/** The worker's own module: this file's extension, so it runs from source (tsx, tests) and from dist/. */
const WORKER_URL = new URL(`./replayWorker${import.meta.url.slice(import.meta.url.lastIndexOf('.'))}`, import.meta.url);

function startWorker(data: ReplayWorkerData): Worker {
  const options = { workerData: data, resourceLimits: { maxYoungGenerationSizeMb: REPLAY_YOUNG_GENERATION_MIB } };
  if (!WORKER_URL.pathname.endsWith('.ts')) return new Worker(WORKER_URL, options);
  // From source (tsx, tap): a worker inherits no loader (nor can it register one), so tsx loads its module.
  const bootstrap = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => tsx.tsImport(${JSON.stringify(WORKER_URL.href)}, ${JSON.stringify(import.meta.url)}))`;
  return new Worker(bootstrap, { ...options, eval: true });
}

/** Runs a replay on a worker thread: its progress reaches onProgress, its errors reject. */
function replayInWorker(data: ReplayWorkerData, onProgress: (done: number, total: number) => void): Promise<{ events: number }> {
  const worker = startWorker(data);
  return new Promise((resolve, reject) => {
    let result: { events: number } | undefined;
    worker.on('message', (message: ReplayWorkerMessage) => {
      if (message.type === 'progress') onProgress(message.done, message.total);
      else result = { events: message.events };
    });
    worker.on('error', reject);
    worker.on('exit', (code) => (result ? resolve(result) : reject(new Error(`the replay worker exited with code ${code} before it finished`))));
  });
}

/**
 * replaySqliteReadModel on a worker thread with its own connection to the database file (the
 * `jit replay` command), with a young generation sized for replay (REPLAY_YOUNG_GENERATION_MIB):
 * the worker reads the log with an event store of its own, so `store` must be the event store of
 * `db`. The worker's errors reject the promise; its connection then closes with the replay's
 * transaction rolled back, leaving the live model as it was. A database in memory is only visible
 * to its own connection: it replays on this thread, with `store`.
 */
export async function replaySqliteReadModelInWorker(
  db: SqliteDatabase,
  store: EventStore,
  onProgress: (done: number, total: number) => void,
  options: ReplayOptions = {},
): Promise<{ events: number }> {
  if (db.memory) return replaySqliteReadModel(db, store, onProgress, options);
  return replayInWorker({ kind: 'sqlite', file: db.name, options }, onProgress);
}

/**
 * replayPostgresReadModel on a worker thread with a pool of its own to `url` (the `jit replay`
 * command), for the same young generation as on SQLite: in an A/B run of the benchmark (1M events)
 * the replay took 12.8 s instead of 17.6 s. Errors reject; the live model stays as it was, as with
 * replayPostgresReadModel.
 */
export function replayPostgresReadModelInWorker(url: string, onProgress: (done: number, total: number) => void, options: ReplayOptions = {}): Promise<{ events: number }> {
  return replayInWorker({ kind: 'postgres', url, options }, onProgress);
}

async function replaySqlite(
  db: SqliteDatabase,
  store: EventStore,
  onProgress: (done: number, total: number) => void,
  fresh: SqliteReadModel,
  options: ReplayOptions,
): Promise<{ events: number }> {
  const fold = replayFold(options.maxCachedUsers ?? DEFAULT_MAX_CACHED_USERS);
  const target: FoldTarget = {
    bulkLoad: (users, checkpoint) => fresh.bulkLoad(users, LIVE_PROJECTION, checkpoint),
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
    }, { prefetch: false, batchSize: options.batchSize ?? BATCH });
  let after: number;
  // Until the swap nothing depends on the fresh tables: in WAL mode NORMAL never corrupts the
  // database, and the swap then commits with the connection's own setting, which syncs the log
  // written before it as well.
  const synchronous = db.pragma('synchronous', { simple: true }) as number;
  if (db.pragma('journal_mode', { simple: true }) === 'wal') db.pragma('synchronous = NORMAL');
  try {
    after = await copy(0);
    await fold.flush(target);
  } finally {
    db.pragma(`synchronous = ${synchronous}`);
  }
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
    bulkLoad: (users, checkpoint) => fresh.bulkLoad(users, LIVE_PROJECTION, checkpoint),
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
  options: ReplayOptions = {},
): Promise<{ events: number }> {
  const fresh = await getPostgresReadModel(pool, { suffix: '_replay', bulkLoad: true });
  const fold = replayFold(options.maxCachedUsers ?? DEFAULT_MAX_CACHED_USERS);
  let total = await store.headPosition();
  const copy = (after: number, target: FoldTarget) =>
    copyLog(store, after, async (batch) => {
      await fold.add(batch, target);
      const done = batch.at(-1)!.position;
      total = Math.max(total, done);
      onProgress(done, total);
    }, { prefetch: true, batchSize: options.batchSize ?? BATCH });
  const outside = postgresTarget(fresh, (work) => inTransaction(pool, work));
  let after = await copy(0, outside);
  await fold.flush(outside);
  if (fold.upserted()) {
    // The bulk load gathered statistics; rows upserted after it may have changed them a lot.
    const t = postgresReadModelTables(fresh.suffix);
    await pool.query(`ANALYZE ${t.users}, ${t.groups}, ${t.identities}`);
  }
  await inTransaction(pool, async (client) => {
    // Appends wait on this lock, so the copy below reaches the true head before the swap.
    await client.query('SELECT position FROM jit_log_head FOR UPDATE');
    const inside = postgresTarget(fresh, (work) => work(client));
    after = await copy(after, inside);
    await fold.flush(inside);
    await fresh.swapIntoLive(client);
  });
  onProgress(after, after);
  return { events: after };
}
