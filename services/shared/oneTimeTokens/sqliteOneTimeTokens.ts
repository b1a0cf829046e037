import { migrateSqlite, type SqliteDatabase } from '../sqlite/database.js';
import type { OneTimeTokens } from './oneTimeTokens.js';

export function getSqliteOneTimeTokens(db: SqliteDatabase, now: () => Date = () => new Date()): OneTimeTokens {
  migrateSqlite(db, [
    {
      name: 'one-time-tokens-1',
      sql: `CREATE TABLE one_time_tokens (
              scope TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, expires_at INTEGER NOT NULL,
              PRIMARY KEY (scope, key));
            CREATE INDEX one_time_tokens_expiry ON one_time_tokens (expires_at);`,
    },
  ]);
  const s = {
    insert: db.prepare(
      `INSERT INTO one_time_tokens (scope, key, value, expires_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (scope, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at
       WHERE one_time_tokens.expires_at <= ?`,
    ),
    peek: db.prepare<[string, string, number], { value: string }>('SELECT value FROM one_time_tokens WHERE scope = ? AND key = ? AND expires_at > ?'),
    consume: db.prepare<[string, string, number], { value: string }>(
      'DELETE FROM one_time_tokens WHERE scope = ? AND key = ? AND expires_at > ? RETURNING value',
    ),
    purge: db.prepare('DELETE FROM one_time_tokens WHERE expires_at <= ?'),
  };
  return {
    async remember(scope, key, expiresAt, value = '') {
      const t = now().getTime();
      return s.insert.run(scope, key, value, expiresAt.getTime(), t).changes === 1;
    },
    async peek(scope, key) {
      return s.peek.get(scope, key, now().getTime())?.value;
    },
    async consume(scope, key) {
      return s.consume.get(scope, key, now().getTime())?.value;
    },
    async purgeExpired() {
      return s.purge.run(now().getTime()).changes;
    },
  };
}
