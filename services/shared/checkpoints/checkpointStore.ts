/**
 * Named positions of background workers that are not part of the read model (the relay's
 * "published up to" position), in the same database as the event store.
 */
import { migratePostgres, type PgPool } from '../postgres/database.js';
import { migrateSqlite, type SqliteDatabase } from '../sqlite/database.js';

export interface CheckpointStore {
  get(name: string): Promise<number>;
  set(name: string, position: number): Promise<void>;
}

export function getSqliteCheckpointStore(db: SqliteDatabase): CheckpointStore {
  migrateSqlite(db, [{ name: 'checkpoints-1', sql: 'CREATE TABLE worker_checkpoints (name TEXT PRIMARY KEY, position INTEGER NOT NULL)' }]);
  const get = db.prepare<[string], { position: number }>('SELECT position FROM worker_checkpoints WHERE name = ?');
  const set = db.prepare('INSERT INTO worker_checkpoints (name, position) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET position = excluded.position');
  return {
    get: async (name) => get.get(name)?.position ?? 0,
    set: async (name, position) => void set.run(name, position),
  };
}

export async function getPostgresCheckpointStore(pool: PgPool): Promise<CheckpointStore> {
  await migratePostgres(pool, [{ name: 'checkpoints-1', sql: 'CREATE TABLE jit_worker_checkpoints (name TEXT PRIMARY KEY, position BIGINT NOT NULL)' }]);
  return {
    async get(name) {
      const { rows } = await pool.query<{ position: number }>('SELECT position FROM jit_worker_checkpoints WHERE name = $1', [name]);
      return rows[0]?.position ?? 0;
    },
    async set(name, position) {
      await pool.query(
        'INSERT INTO jit_worker_checkpoints (name, position) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position',
        [name, position],
      );
    },
  };
}
