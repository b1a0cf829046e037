import { migrateSqlite, type SqliteDatabase } from '../sqlite/database.js';
import type { OneTimeTokens, TokenKey } from './oneTimeTokens.js';

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
  const exchange = db.transaction((consume: TokenKey, remember: TokenKey & { expiresAt: Date; value?: string }, t: number) => {
    const value = s.consume.get(consume.scope, consume.key, t)?.value;
    if (value === undefined) return { value, remembered: false };
    const remembered = s.insert.run(remember.scope, remember.key, remember.value ?? '', remember.expiresAt.getTime(), t).changes === 1;
    return { value, remembered };
  });
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
    async consumeAndRemember(consume, remember) {
      const t = now().getTime();
      return exchange(consume, remember, t);
    },
    async purgeExpired() {
      return s.purge.run(now().getTime()).changes;
    },
  };
}
