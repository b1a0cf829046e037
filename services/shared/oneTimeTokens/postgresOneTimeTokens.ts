import { migratePostgres, type PgPool } from '../postgres/database.js';
import type { OneTimeTokens } from './oneTimeTokens.js';

export async function getPostgresOneTimeTokens(pool: PgPool, now: () => Date = () => new Date()): Promise<OneTimeTokens> {
  await migratePostgres(pool, [
    {
      name: 'one-time-tokens-1',
      sql: `CREATE TABLE jit_one_time_tokens (
              scope TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, expires_at TIMESTAMPTZ NOT NULL,
              PRIMARY KEY (scope, key));
            CREATE INDEX jit_one_time_tokens_expiry ON jit_one_time_tokens (expires_at);`,
    },
  ]);
  return {
    async remember(scope, key, expiresAt, value = '') {
      const result = await pool.query(
        `INSERT INTO jit_one_time_tokens (scope, key, value, expires_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (scope, key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at
         WHERE jit_one_time_tokens.expires_at <= $5`,
        [scope, key, value, expiresAt, now()],
      );
      return result.rowCount === 1;
    },
    async peek(scope, key) {
      const { rows } = await pool.query<{ value: string }>('SELECT value FROM jit_one_time_tokens WHERE scope = $1 AND key = $2 AND expires_at > $3', [scope, key, now()]);
      return rows[0]?.value;
    },
    async consume(scope, key) {
      const { rows } = await pool.query<{ value: string }>(
        'DELETE FROM jit_one_time_tokens WHERE scope = $1 AND key = $2 AND expires_at > $3 RETURNING value',
        [scope, key, now()],
      );
      return rows[0]?.value;
    },
    async consumeAndRemember(consume, remember) {
      // One statement, so one transaction: the insert only sees a row when the delete returned one.
      const { rows } = await pool.query<{ value: string | null; remembered: number }>(
        `WITH consumed AS (
           DELETE FROM jit_one_time_tokens WHERE scope = $1 AND key = $2 AND expires_at > $7 RETURNING value),
         remembered AS (
           INSERT INTO jit_one_time_tokens (scope, key, value, expires_at) SELECT $3, $4, $5, $6 FROM consumed
           ON CONFLICT (scope, key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at
           WHERE jit_one_time_tokens.expires_at <= $7
           RETURNING 1)
         SELECT (SELECT value FROM consumed) AS value, (SELECT count(*)::int FROM remembered) AS remembered`,
        [consume.scope, consume.key, remember.scope, remember.key, remember.value ?? '', remember.expiresAt, now()],
      );
      const row = rows[0];
      return { value: row?.value ?? undefined, remembered: row?.remembered === 1 };
    },
    async purgeExpired() {
      const result = await pool.query('DELETE FROM jit_one_time_tokens WHERE expires_at <= $1', [now()]);
      return result.rowCount ?? 0;
    },
  };
}
