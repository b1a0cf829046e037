/**
 * PostgreSQL connections and migrations. Migrations run at start under an advisory lock, so any
 * number of processes may start at once; each migration is applied once, in its own transaction.
 */
import pg from 'pg';

export type PgPool = pg.Pool;
export type PgClient = pg.PoolClient;

// BIGINT positions fit in a JS number (2^53); parse them as numbers, not strings.
pg.types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number(value));

export function createPgPool(connectionString: string, options: { max?: number; applicationName?: string } = {}): PgPool {
  const pool = new pg.Pool({
    connectionString,
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'jit',
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 10_000,
  });
  // An idle client that loses its connection must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  return pool;
}

/**
 * A pooled client for several statements. While it is checked out the pool does not listen to its
 * errors: a connection the server ends between two statements (a restart, a dropped database)
 * would raise an uncaught 'error' and stop the process. Here it is ignored; the next statement on
 * that client fails instead, and the caller's error handling takes over.
 */
export async function checkout(pool: PgPool): Promise<PgClient> {
  const client = await pool.connect();
  const ignore = () => undefined;
  client.on('error', ignore);
  const release = client.release.bind(client);
  client.release = (destroy?: boolean | Error) => {
    client.off('error', ignore);
    client.release = release;
    release(destroy);
  };
  return client;
}

const MIGRATION_LOCK = 0x6a69746d; // "jitm"

export async function migratePostgres(pool: PgPool, migrations: readonly { name: string; sql: string }[]): Promise<void> {
  const client = await checkout(pool);
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query('CREATE TABLE IF NOT EXISTS jit_schema_migrations (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())');
    const { rows } = await client.query<{ name: string }>('SELECT name FROM jit_schema_migrations');
    const applied = new Set(rows.map((r) => r.name));
    for (const migration of migrations) {
      if (applied.has(migration.name)) continue;
      await client.query(migration.sql);
      await client.query('INSERT INTO jit_schema_migrations (name) VALUES ($1)', [migration.name]);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

export async function inTransaction<T>(pool: PgPool, work: (client: PgClient) => Promise<T>): Promise<T> {
  const client = await checkout(pool);
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
