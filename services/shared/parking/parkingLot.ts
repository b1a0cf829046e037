/**
 * Parked messages: Kafka messages a consumer could not use (schema-invalid, unknown type, a login
 * for an unknown IdP…). They are kept for inspection and counted, and never block a partition.
 */
import { migratePostgres, type PgPool } from '../postgres/database.js';
import { migrateSqlite, type SqliteDatabase } from '../sqlite/database.js';

export type ParkedMessage = Readonly<{
  consumer: string;
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: string | null;
  headers: Record<string, string>;
  reason: string;
}>;

export type StoredParkedMessage = ParkedMessage & { readonly parkedAt: string };

export interface ParkingLot {
  park(message: ParkedMessage): Promise<void>;
  list(options?: { consumer?: string; limit?: number }): Promise<StoredParkedMessage[]>;
  count(consumer?: string): Promise<number>;
}

const MAX_VALUE = 64 * 1024;
const clip = (value: string | null) => (value !== null && value.length > MAX_VALUE ? `${value.slice(0, MAX_VALUE)}…[truncated]` : value);

export function getSqliteParkingLot(db: SqliteDatabase): ParkingLot {
  migrateSqlite(db, [
    {
      name: 'parking-1',
      sql: `CREATE TABLE parked_messages (consumer TEXT NOT NULL, topic TEXT NOT NULL, partition INTEGER NOT NULL, "offset" TEXT NOT NULL,
              key TEXT, value TEXT, headers TEXT NOT NULL, reason TEXT NOT NULL, parked_at TEXT NOT NULL,
              PRIMARY KEY (consumer, topic, partition, "offset"))`,
    },
  ]);
  const insert = db.prepare(
    'INSERT OR IGNORE INTO parked_messages (consumer, topic, partition, "offset", key, value, headers, reason, parked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  type Row = { consumer: string; topic: string; partition: number; offset: string; key: string | null; value: string | null; headers: string; reason: string; parked_at: string };
  return {
    async park(m) {
      insert.run(m.consumer, m.topic, m.partition, m.offset, m.key, clip(m.value), JSON.stringify(m.headers), m.reason, new Date().toISOString());
    },
    async list({ consumer, limit = 100 } = {}) {
      const rows = db
        .prepare<[string | null, string | null, number], Row>('SELECT * FROM parked_messages WHERE (? IS NULL OR consumer = ?) ORDER BY parked_at DESC LIMIT ?')
        .all(consumer ?? null, consumer ?? null, limit);
      return rows.map((r) => ({ ...r, headers: JSON.parse(r.headers) as Record<string, string>, parkedAt: r.parked_at }));
    },
    async count(consumer) {
      return db.prepare<[string | null, string | null], { n: number }>('SELECT COUNT(*) AS n FROM parked_messages WHERE (? IS NULL OR consumer = ?)').get(consumer ?? null, consumer ?? null)?.n ?? 0;
    },
  };
}

export async function getPostgresParkingLot(pool: PgPool): Promise<ParkingLot> {
  await migratePostgres(pool, [
    {
      name: 'parking-1',
      sql: `CREATE TABLE jit_parked_messages (consumer TEXT NOT NULL, topic TEXT NOT NULL, partition INTEGER NOT NULL, "offset" TEXT NOT NULL,
              key TEXT, value TEXT, headers JSONB NOT NULL, reason TEXT NOT NULL, parked_at TIMESTAMPTZ NOT NULL DEFAULT now(),
              PRIMARY KEY (consumer, topic, partition, "offset"))`,
    },
  ]);
  type Row = { consumer: string; topic: string; partition: number; offset: string; key: string | null; value: string | null; headers: Record<string, string>; reason: string; parked_at: Date };
  return {
    async park(m) {
      await pool.query(
        `INSERT INTO jit_parked_messages (consumer, topic, partition, "offset", key, value, headers, reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT DO NOTHING`,
        [m.consumer, m.topic, m.partition, m.offset, m.key, clip(m.value), JSON.stringify(m.headers), m.reason],
      );
    },
    async list({ consumer, limit = 100 } = {}) {
      const { rows } = await pool.query<Row>('SELECT * FROM jit_parked_messages WHERE ($1::text IS NULL OR consumer = $1) ORDER BY parked_at DESC LIMIT $2', [consumer ?? null, limit]);
      return rows.map((r) => ({ ...r, parkedAt: r.parked_at.toISOString() }));
    },
    async count(consumer) {
      const { rows } = await pool.query<{ n: number }>('SELECT COUNT(*)::int AS n FROM jit_parked_messages WHERE ($1::text IS NULL OR consumer = $1)', [consumer ?? null]);
      return rows[0]?.n ?? 0;
    },
  };
}
