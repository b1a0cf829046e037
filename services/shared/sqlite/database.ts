/**
 * The embedded database: one SQLite file in JIT_DATA_DIR holding the event store, the read model
 * and the gateway's one-time tokens. WAL with synchronous=FULL so a committed login survives a crash.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

export type SqliteDatabase = Database.Database;

export function openSqliteDatabase(location: string | { dataDir: string }): SqliteDatabase {
  let file: string;
  if (typeof location === 'string') {
    file = location;
  } else {
    mkdirSync(location.dataDir, { recursive: true });
    file = join(location.dataDir, 'jit.db');
  }
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  return db;
}

/** Applies named migrations once each, in order, inside one transaction per migration. */
export function migrateSqlite(db: SqliteDatabase, migrations: readonly { name: string; sql: string }[]): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)');
  const applied = db.prepare<[string], { name: string }>('SELECT name FROM schema_migrations WHERE name = ?');
  const record = db.prepare('INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)');
  for (const migration of migrations) {
    if (applied.get(migration.name)) continue;
    db.transaction(() => {
      db.exec(migration.sql);
      record.run(migration.name, new Date().toISOString());
    }).immediate();
  }
}
