/**
 * The stores the configuration selects: embedded SQLite (default) or PostgreSQL
 * (JIT_DATABASE_URL). Opening them runs their migrations; no background work starts here.
 */
import type { Config } from './shared/config.js';
import type { EventStore } from './shared/eventStore/eventStore.js';
import { getPostgresEventStore } from './shared/eventStore/postgresEventStore.js';
import { getSqliteEventStore } from './shared/eventStore/sqliteEventStore.js';
import type { OneTimeTokens } from './shared/oneTimeTokens/oneTimeTokens.js';
import { getPostgresOneTimeTokens } from './shared/oneTimeTokens/postgresOneTimeTokens.js';
import { getSqliteOneTimeTokens } from './shared/oneTimeTokens/sqliteOneTimeTokens.js';
import { createPgPool, type PgPool } from './shared/postgres/database.js';
import { loadOrCreatePostgresSecret } from './shared/postgres/secrets.js';
import { loadOrCreateSecret } from './shared/secretFiles.js';
import { openSqliteDatabase } from './shared/sqlite/database.js';
import type { ReadModel } from './projections/readModel.js';
import { getPostgresCheckpointStore, getSqliteCheckpointStore, type CheckpointStore } from './shared/checkpoints/checkpointStore.js';
import { getPostgresParkingLot, getSqliteParkingLot, type ParkingLot } from './shared/parking/parkingLot.js';
import { getPostgresLoginSnapshots, getSqliteLoginSnapshots, type LoginSnapshots } from './shared/loginSnapshots/loginSnapshots.js';
import { getPostgresReadModel, type PostgresReadModel } from './projections/postgresReadModel.js';
import { replayPostgresReadModelInWorker, replaySqliteReadModelInWorker } from './projections/replay.js';
import { getSqliteReadModel } from './projections/sqliteReadModel.js';

export type Backends = Readonly<{
  kind: 'sqlite' | 'postgres';
  store: EventStore;
  readModel: ReadModel;
  oneTimeTokens: OneTimeTokens;
  checkpoints: CheckpointStore;
  parking: ParkingLot;
  loginSnapshots: LoginSnapshots;
  /** The PostgreSQL pool and live read model, for components that need transactions (Kafka projector). */
  postgres?: { pool: PgPool; readModel: PostgresReadModel };
  /** A secret shared by every instance (generated once per data dir or database). */
  sharedSecret(name: string): Promise<string>;
  /** Rebuilds the read model in fresh tables and swaps them in (jit replay). */
  replay(onProgress: (done: number, total: number) => void): Promise<{ events: number }>;
  close(): Promise<void>;
}>;

export async function openBackends(config: Config, options: { now?: () => Date } = {}): Promise<Backends> {
  const now = options.now;
  const url = config.databaseUrl;
  if (url) {
    const pool = createPgPool(url, { max: 16 });
    try {
      const store = await getPostgresEventStore(pool, now ? { now } : {});
      const readModel = await getPostgresReadModel(pool);
      const oneTimeTokens = await getPostgresOneTimeTokens(pool, now);
      return {
        kind: 'postgres',
        store,
        readModel,
        oneTimeTokens,
        checkpoints: await getPostgresCheckpointStore(pool),
        parking: await getPostgresParkingLot(pool),
        loginSnapshots: await getPostgresLoginSnapshots(pool),
        postgres: { pool, readModel },
        sharedSecret: (name) => loadOrCreatePostgresSecret(pool, name),
        replay: (onProgress) => replayPostgresReadModelInWorker(url, onProgress),
        async close() {
          // The read model's LISTEN connection is a pool client: pool.end() waits for it.
          await readModel.close();
          await store.close();
          await pool.end();
        },
      };
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw error;
    }
  }
  const db = openSqliteDatabase({ dataDir: config.dataDir });
  const store = getSqliteEventStore(db, now ? { now } : {});
  return {
    kind: 'sqlite',
    store,
    readModel: getSqliteReadModel(db),
    oneTimeTokens: getSqliteOneTimeTokens(db, now),
    checkpoints: getSqliteCheckpointStore(db),
    parking: getSqliteParkingLot(db),
    loginSnapshots: getSqliteLoginSnapshots(db),
    sharedSecret: async (name) => loadOrCreateSecret(config.dataDir, name).value,
    replay: (onProgress) => replaySqliteReadModelInWorker(db, store, onProgress),
    async close() {
      await store.close();
      db.close();
    },
  };
}
