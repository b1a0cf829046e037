import { randomBytes } from 'node:crypto';
import { migratePostgres, type PgPool } from './database.js';

/** A random secret created once and shared by every instance using this database. */
export async function loadOrCreatePostgresSecret(pool: PgPool, name: string): Promise<string> {
  await migratePostgres(pool, [{ name: 'secrets-1', sql: 'CREATE TABLE jit_secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL)' }]);
  await pool.query('INSERT INTO jit_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [name, randomBytes(32).toString('base64url')]);
  const { rows } = await pool.query<{ value: string }>('SELECT value FROM jit_secrets WHERE name = $1', [name]);
  return rows[0]!.value;
}
