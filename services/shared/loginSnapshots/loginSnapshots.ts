/**
 * The attributes (SAML) or claims (OIDC) of each identity's last login, kept so that an admin can
 * see what a proposed mapping change would do to every user before saving it (impact analysis).
 *
 * What is kept: one row per identity (IdP + subject): the last verified login's attributes or
 * claims, its time and the user it belongs to — nothing else, and never more than one login back.
 * For how long: JIT_LOGIN_ATTRIBUTES_DAYS (default 90; 0 keeps nothing). Expired rows are purged at
 * start and hourly. Erasure: DELETE /rest/authconfig/1.0/jit-users/{username}/login-attributes.
 * They live in the event store's database but outside the immutable log, so they can be erased.
 */
import type { LoginSucceeded } from '../../../schemas/types.gen.js';
import { migratePostgres, type PgPool } from '../postgres/database.js';
import { migrateSqlite, type SqliteDatabase } from '../sqlite/database.js';

export type LoginSnapshot = Readonly<{ userId: string; login: LoginSucceeded; expiresAt: string }>;

export interface LoginSnapshots {
  save(userId: string, login: LoginSucceeded, expiresAt: Date): Promise<void>;
  /** Unexpired snapshots of an IdP's identities. */
  forIdp(idpId: string, now: Date): Promise<LoginSnapshot[]>;
  forUser(userId: string, now: Date): Promise<LoginSnapshot[]>;
  /** Erases every snapshot of a user; answers how many. */
  erase(userId: string): Promise<number>;
  purgeExpired(now: Date): Promise<number>;
}

export function getSqliteLoginSnapshots(db: SqliteDatabase): LoginSnapshots {
  migrateSqlite(db, [
    {
      name: 'login-snapshots-1',
      sql: `CREATE TABLE login_snapshots (idp_id TEXT NOT NULL, subject TEXT NOT NULL, user_id TEXT NOT NULL, login TEXT NOT NULL,
              expires_at TEXT NOT NULL, PRIMARY KEY (idp_id, subject));
            CREATE INDEX login_snapshots_by_user ON login_snapshots (user_id);`,
    },
  ]);
  type Row = { user_id: string; login: string; expires_at: string };
  const toSnapshot = (r: Row): LoginSnapshot => ({ userId: r.user_id, login: JSON.parse(r.login) as LoginSucceeded, expiresAt: r.expires_at });
  const save = db.prepare(
    `INSERT INTO login_snapshots (idp_id, subject, user_id, login, expires_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (idp_id, subject) DO UPDATE SET user_id = excluded.user_id, login = excluded.login, expires_at = excluded.expires_at`,
  );
  const forIdp = db.prepare<[string, string], Row>('SELECT user_id, login, expires_at FROM login_snapshots WHERE idp_id = ? AND expires_at > ? ORDER BY user_id');
  const forUser = db.prepare<[string, string], Row>('SELECT user_id, login, expires_at FROM login_snapshots WHERE user_id = ? AND expires_at > ?');
  const erase = db.prepare('DELETE FROM login_snapshots WHERE user_id = ?');
  const purge = db.prepare('DELETE FROM login_snapshots WHERE expires_at <= ?');
  return {
    save: async (userId, login, expiresAt) => void save.run(login.idpId, login.subject, userId, JSON.stringify(login), expiresAt.toISOString()),
    forIdp: async (idpId, now) => forIdp.all(idpId, now.toISOString()).map(toSnapshot),
    forUser: async (userId, now) => forUser.all(userId, now.toISOString()).map(toSnapshot),
    erase: async (userId) => erase.run(userId).changes,
    purgeExpired: async (now) => purge.run(now.toISOString()).changes,
  };
}

export async function getPostgresLoginSnapshots(pool: PgPool): Promise<LoginSnapshots> {
  await migratePostgres(pool, [
    {
      name: 'login-snapshots-1',
      sql: `CREATE TABLE jit_login_snapshots (idp_id TEXT NOT NULL, subject TEXT NOT NULL, user_id UUID NOT NULL, login JSONB NOT NULL,
              expires_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (idp_id, subject));
            CREATE INDEX jit_login_snapshots_by_user ON jit_login_snapshots (user_id);`,
    },
  ]);
  type Row = { user_id: string; login: LoginSucceeded; expires_at: Date };
  const toSnapshot = (r: Row): LoginSnapshot => ({ userId: r.user_id, login: r.login, expiresAt: r.expires_at.toISOString() });
  const writeBatch = createSnapshotBatcher(pool);
  return {
    save: (userId, login, expiresAt) => writeBatch.save({ idpId: login.idpId, subject: login.subject, userId, login: JSON.stringify(login), expiresAt: expiresAt.toISOString() }),
    async forIdp(idpId, now) {
      const { rows } = await pool.query<Row>('SELECT user_id, login, expires_at FROM jit_login_snapshots WHERE idp_id = $1 AND expires_at > $2 ORDER BY user_id', [idpId, now]);
      return rows.map(toSnapshot);
    },
    async forUser(userId, now) {
      const { rows } = await pool.query<Row>('SELECT user_id, login, expires_at FROM jit_login_snapshots WHERE user_id = $1 AND expires_at > $2', [userId, now]);
      return rows.map(toSnapshot);
    },
    async erase(userId) {
      // A save queued before the erase must not land after it.
      await writeBatch.drain();
      return (await pool.query('DELETE FROM jit_login_snapshots WHERE user_id = $1', [userId])).rowCount ?? 0;
    },
    async purgeExpired(now) {
      return (await pool.query('DELETE FROM jit_login_snapshots WHERE expires_at <= $1', [now])).rowCount ?? 0;
    },
  };
}

type PendingSnapshot = { idpId: string; subject: string; userId: string; login: string; expiresAt: string };

/**
 * Group commit for snapshot writes: every login writes one, so concurrent logins' snapshots are
 * written together, one statement (and one commit) per batch, while the previous batch is in
 * flight. Per identity the last queued snapshot wins (logins of one identity are handled one at a
 * time, so the later one is the newer); a caller's promise settles with its batch.
 */
function createSnapshotBatcher(pool: PgPool) {
  const MAX_BATCH = 500;
  let queue: { row: PendingSnapshot; done: { resolve: () => void; reject: (error: unknown) => void } }[] = [];
  let running: Promise<void> | undefined;
  const write = async (batch: typeof queue) => {
    const latest = new Map<string, PendingSnapshot>();
    for (const { row } of batch) latest.set(`${row.idpId}\n${row.subject}`, row);
    const rows = [...latest.values()];
    // Named: written with every login, parsed and planned once per connection.
    await pool.query({
      name: 'jit-save-login-snapshots',
      text: `INSERT INTO jit_login_snapshots (idp_id, subject, user_id, login, expires_at)
       SELECT * FROM unnest($1::text[], $2::text[], $3::uuid[], $4::jsonb[], $5::timestamptz[])
       ON CONFLICT (idp_id, subject) DO UPDATE SET user_id = EXCLUDED.user_id, login = EXCLUDED.login, expires_at = EXCLUDED.expires_at`,
      values: [rows.map((r) => r.idpId), rows.map((r) => r.subject), rows.map((r) => r.userId), rows.map((r) => r.login), rows.map((r) => r.expiresAt)],
    });
  };
  const pump = async () => {
    while (queue.length > 0) {
      const batch = queue.slice(0, MAX_BATCH);
      queue = queue.slice(batch.length);
      try {
        await write(batch);
        for (const item of batch) item.done.resolve();
      } catch (error) {
        for (const item of batch) item.done.reject(error);
      }
    }
  };
  const start = () => {
    running ??= pump().finally(() => {
      running = undefined;
      if (queue.length > 0) start();
    });
    return running;
  };
  return {
    save(row: PendingSnapshot): Promise<void> {
      return new Promise<void>((resolve, reject) => {
        queue.push({ row, done: { resolve, reject } });
        void start();
      });
    },
    /** Settles once everything queued so far is written (or failed). */
    async drain(): Promise<void> {
      while (running || queue.length > 0) await (running ?? start());
    },
  };
}
