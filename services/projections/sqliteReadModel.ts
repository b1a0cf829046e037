/**
 * SQLite read model. Rows, group memberships and the checkpoint change in one transaction.
 * A suffix gives an independent set of tables, which is how `jit replay` builds a fresh model
 * beside the live one before swapping it in.
 */
import { migrateSqlite, type SqliteDatabase } from '../shared/sqlite/database.js';
import { groupKey, usernameKey } from '../provisioning/user/normalize.js';
import type { RawRecordedEvent } from '../../events/envelope.js';
import type { ReadModel, UserListItem } from './readModel.js';
import { listSql, searchText } from './userQuery.js';
import type { ProvisionedUser } from '../provisioning/user/userState.js';
import { changedParts, projectUsers, type ProjectedUser } from './userProjection.js';

type UserRow = {
  user_id: string;
  username: string;
  username_key: string;
  display_name: string;
  email: string;
  active: number;
  idp_id: string;
  provisioned_at: string;
  last_login_at: string | null;
};

/** The columns a user's state is read back from. */
const STATE_COLUMNS = 'user_id, username, display_name, email, active, idp_id, subject, provisioned_at, deactivated_at, state';

type StateRow = {
  user_id: string;
  username: string;
  display_name: string;
  email: string;
  active: number;
  idp_id: string;
  subject: string;
  provisioned_at: string;
  deactivated_at: string | null;
  state: string;
};

/**
 * The `state` column holds only what the row's other columns do not: identities, groups and
 * lastLoginAt (as the event gave it; last_login_at is normalized). It is a third of what a
 * replay writes otherwise. A state whose user id is not the row's is stored whole, as rows
 * written before this format were; stateFromRow reads both.
 */
function stateColumn(userId: string, state: ProvisionedUser): string {
  if (state.userId !== userId) return JSON.stringify(state);
  return JSON.stringify({ identities: state.identities, groups: state.groups, lastLoginAt: state.lastLoginAt });
}

function stateFromRow(row: StateRow): ProvisionedUser {
  const stored = JSON.parse(row.state) as Pick<ProvisionedUser, 'identities' | 'groups' | 'lastLoginAt'> | ProvisionedUser;
  if ('status' in stored) return stored;
  // Keys in evolve's order, and none for what is not set (as JSON.parse of a whole state gave them).
  const state: Record<string, unknown> = {
    status: 'provisioned',
    userId: row.user_id,
    username: row.username,
    displayName: row.display_name,
    email: row.email,
    active: row.active === 1,
    idpId: row.idp_id,
    subject: row.subject,
    identities: stored.identities,
    groups: stored.groups,
    provisionedAt: row.provisioned_at,
  };
  if (stored.lastLoginAt !== undefined) state.lastLoginAt = stored.lastLoginAt;
  if (row.deactivated_at !== null) state.deactivatedAt = row.deactivated_at;
  return state as ProvisionedUser;
}

export function sqliteReadModelTables(suffix = '') {
  return {
    users: `jit_users${suffix}`,
    groups: `jit_user_groups${suffix}`,
    identities: `jit_user_identities${suffix}`,
    checkpoints: `projection_checkpoints${suffix}`,
  };
}

function createTablesSql(suffix: string): string {
  return `${createBareTablesSql(suffix)}${createIndexesSql(suffix)}`;
}

function createIndexesSql(suffix: string): string {
  const t = sqliteReadModelTables(suffix);
  return `
    CREATE INDEX IF NOT EXISTS ${t.users}_by_key ON ${t.users} (username_key, user_id);
    CREATE INDEX IF NOT EXISTS ${t.users}_by_idp ON ${t.users} (idp_id, username_key);
    CREATE INDEX IF NOT EXISTS ${t.groups}_by_group ON ${t.groups} (group_key, user_id);
    ${identitiesByUserSql(suffix)}
  `;
}

/** The tables with their primary keys but without the other indexes. */
function createBareTablesSql(suffix: string): string {
  const t = sqliteReadModelTables(suffix);
  return `
    CREATE TABLE IF NOT EXISTS ${t.users} (
      user_id TEXT PRIMARY KEY,
      username TEXT NOT NULL,
      username_key TEXT NOT NULL,
      display_name TEXT NOT NULL,
      email TEXT NOT NULL,
      active INTEGER NOT NULL,
      idp_id TEXT NOT NULL,
      subject TEXT NOT NULL,
      provisioned_at TEXT NOT NULL,
      last_login_at TEXT,
      deactivated_at TEXT,
      search_text TEXT NOT NULL,
      position INTEGER NOT NULL,
      state TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS ${t.groups} (
      user_id TEXT NOT NULL,
      group_key TEXT NOT NULL,
      group_name TEXT NOT NULL,
      granted_by TEXT NOT NULL,
      PRIMARY KEY (user_id, group_key)
    );
    CREATE TABLE IF NOT EXISTS ${t.identities} (
      idp_id TEXT NOT NULL,
      subject TEXT NOT NULL,
      user_id TEXT NOT NULL,
      linked_at TEXT NOT NULL,
      PRIMARY KEY (idp_id, subject)
    );
    CREATE TABLE IF NOT EXISTS ${t.checkpoints} (name TEXT PRIMARY KEY, position INTEGER NOT NULL);
  `;
}

/** A user's identity rows are replaced by user id at every change: without this index each replacement scans the table. */
function identitiesByUserSql(suffix: string): string {
  const t = sqliteReadModelTables(suffix);
  return `CREATE INDEX IF NOT EXISTS ${t.identities}_by_user ON ${t.identities} (user_id);`;
}

export type SqliteReadModel = ReadModel & {
  readonly suffix: string;
  /** The stored state of a user and the position it was projected to. */
  loadUser(userId: string): ProjectedUser | undefined;
  /**
   * Writes already-projected users and the checkpoint in one transaction (replay folds in memory
   * and writes each user once per flush).
   */
  saveUsers(users: ReadonlyMap<string, ProjectedUser>, projection: string, checkpoint: number): void;
  /**
   * Fills the empty tables of a model opened with `bulkLoad` (plain inserts, BULK_USERS users per
   * transaction, then the checkpoint). Identities are indexed by user before the first upsert that
   * follows, if any; the other indexes are built under their live names by swapIntoLive. Once only.
   */
  bulkLoad(users: ReadonlyMap<string, ProjectedUser>, projection: string, checkpoint: number): void;
  /** Replaces the live tables with this model's tables (replay): one transaction, no half-built model served. */
  swapIntoLive(): void;
};

/** Users per transaction of bulkLoad. */
const BULK_USERS = 20_000;

export type SqliteReadModelOptions = {
  suffix?: string;
  /**
   * Start from new, empty tables without their secondary indexes (replay, not the live model):
   * bulkLoad fills them. Drops whatever tables of this suffix exist.
   */
  bulkLoad?: boolean;
};

export function getSqliteReadModel(db: SqliteDatabase, options: SqliteReadModelOptions = {}): SqliteReadModel {
  const suffix = options.suffix ?? '';
  const t = sqliteReadModelTables(suffix);
  const bulk = options.bulkLoad === true;
  if (bulk && suffix === '') throw new Error('the live model cannot be bulk loaded');
  if (suffix === '') {
    migrateSqlite(db, [
      { name: 'read-model-1', sql: createTablesSql('') },
      { name: 'read-model-2-identities-by-user', sql: identitiesByUserSql('') },
    ]);
  } else if (bulk) {
    db.transaction(() => {
      for (const table of [t.users, t.groups, t.identities, t.checkpoints]) db.exec(`DROP TABLE IF EXISTS ${table}`);
      db.exec(createBareTablesSql(suffix));
    }).immediate();
  } else db.exec(createTablesSql(suffix));
  let bulkLoaded = !bulk;
  /**
   * A bulk-loaded model indexes identities by user (which upserts replace by user id) only in the
   * transaction of an upsert (IF NOT EXISTS: once): swapIntoLive builds the live index anyway, and
   * most replays never upsert after the bulk load.
   */
  const indexIdentities = bulk ? () => db.exec(identitiesByUserSql(suffix)) : () => undefined;

  const s = {
    state: db.prepare<[string], StateRow & { position: number }>(`SELECT ${STATE_COLUMNS}, position FROM ${t.users} WHERE user_id = ?`),
    upsert: db.prepare(`
      INSERT INTO ${t.users} (user_id, username, username_key, display_name, email, active, idp_id, subject, provisioned_at,
        last_login_at, deactivated_at, search_text, position, state)
      VALUES (@userId, @username, @usernameKey, @displayName, @email, @active, @idpId, @subject, @provisionedAt,
        @lastLoginAt, @deactivatedAt, @searchText, @position, @state)
      ON CONFLICT (user_id) DO UPDATE SET username = excluded.username, username_key = excluded.username_key,
        display_name = excluded.display_name, email = excluded.email, active = excluded.active, idp_id = excluded.idp_id,
        subject = excluded.subject, provisioned_at = excluded.provisioned_at, last_login_at = excluded.last_login_at,
        deactivated_at = excluded.deactivated_at, search_text = excluded.search_text, position = excluded.position,
        state = excluded.state`),
    insertUser: db.prepare(`
      INSERT INTO ${t.users} (user_id, username, username_key, display_name, email, active, idp_id, subject, provisioned_at,
        last_login_at, deactivated_at, search_text, position, state)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    deleteGroups: db.prepare(`DELETE FROM ${t.groups} WHERE user_id = ?`),
    insertGroup: db.prepare(`INSERT INTO ${t.groups} (user_id, group_key, group_name, granted_by) VALUES (?, ?, ?, ?)`),
    deleteIdentities: db.prepare(`DELETE FROM ${t.identities} WHERE user_id = ?`),
    insertIdentity: db.prepare(`INSERT OR REPLACE INTO ${t.identities} (idp_id, subject, user_id, linked_at) VALUES (?, ?, ?, ?)`),
    checkpoint: db.prepare<[string], { position: number }>(`SELECT position FROM ${t.checkpoints} WHERE name = ?`),
    saveCheckpoint: db.prepare(
      `INSERT INTO ${t.checkpoints} (name, position) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET position = excluded.position`,
    ),
    byKey: db.prepare<[string], StateRow>(`SELECT ${STATE_COLUMNS} FROM ${t.users} WHERE username_key = ? ORDER BY user_id LIMIT 1`),
    byId: db.prepare<[string], StateRow>(`SELECT ${STATE_COLUMNS} FROM ${t.users} WHERE user_id = ?`),
    // rootpage changes when replay swaps in a new table.
    version: db.prepare<[], { version: string }>(
      `SELECT (SELECT COALESCE(SUM(position), 0) || ':' || COUNT(*) FROM ${t.checkpoints}) || ':' ||
         (SELECT rootpage FROM sqlite_master WHERE type = 'table' AND name = '${t.users}') AS version`,
    ),
    groupsOf: db.prepare<[string], { group_name: string }>(`SELECT group_name FROM ${t.groups} WHERE user_id = ? ORDER BY group_key`),
  };

  /**
   * Writes a user's rows. Without `before` its groups and identities are written anew; with it
   * (the stored users the batch was folded onto) only those that changed, as on PostgreSQL.
   */
  const save = (userId: string, projected: ProjectedUser, before?: ReadonlyMap<string, ProjectedUser>) => {
    const { state, position } = projected;
    if (state.status !== 'provisioned') return;
    s.upsert.run({
      userId,
      username: state.username,
      usernameKey: usernameKey(state.username),
      displayName: state.displayName,
      email: state.email,
      active: state.active ? 1 : 0,
      idpId: state.idpId,
      subject: state.subject,
      provisionedAt: state.provisionedAt,
      lastLoginAt: state.lastLoginAt === undefined ? null : new Date(state.lastLoginAt).toISOString(),
      deactivatedAt: state.deactivatedAt ?? null,
      searchText: searchText(state.username, state.displayName, state.email),
      position,
      state: stateColumn(userId, state),
    });
    const changed = before ? changedParts(before.get(userId)?.state, state) : { groups: true, identities: true };
    if (changed.groups) {
      s.deleteGroups.run(userId);
      for (const membership of Object.values(state.groups)) {
        s.insertGroup.run(userId, groupKey(membership.name), membership.name, JSON.stringify(membership.grants));
      }
    }
    if (changed.identities) {
      s.deleteIdentities.run(userId);
      for (const identity of state.identities) s.insertIdentity.run(identity.idpId, identity.subject, userId, identity.linkedAt);
    }
  };

  const insertUsers = db.transaction((users: readonly (readonly [string, ProjectedUser])[]) => {
    for (const [userId, { state, position }] of users) {
      if (state.status !== 'provisioned') continue;
      s.insertUser.run(
        userId,
        state.username,
        usernameKey(state.username),
        state.displayName,
        state.email,
        state.active ? 1 : 0,
        state.idpId,
        state.subject,
        state.provisionedAt,
        state.lastLoginAt === undefined ? null : new Date(state.lastLoginAt).toISOString(),
        state.deactivatedAt ?? null,
        searchText(state.username, state.displayName, state.email),
        position,
        stateColumn(userId, state),
      );
      for (const membership of Object.values(state.groups)) {
        s.insertGroup.run(userId, groupKey(membership.name), membership.name, JSON.stringify(membership.grants));
      }
    }
  });

  const insertIdentities = db.transaction((identities: readonly (readonly [string, string, string, string])[]) => {
    for (const identity of identities) s.insertIdentity.run(...identity);
  });

  const loadUser = (userId: string): ProjectedUser | undefined => {
    const row = s.state.get(userId);
    return row ? { state: stateFromRow(row), position: row.position } : undefined;
  };

  const saveUsers = db.transaction((users: ReadonlyMap<string, ProjectedUser>, projection: string, checkpoint: number) => {
    indexIdentities();
    for (const [userId, projected] of users) save(userId, projected);
    s.saveCheckpoint.run(projection, checkpoint);
  });

  const apply = db.transaction((events: readonly RawRecordedEvent[], projection: string, checkpoint: number | undefined) => {
    indexIdentities();
    const loaded = new Map<string, ProjectedUser>();
    const touched = projectUsers(events, (userId) => {
      const stored = loadUser(userId);
      if (stored) loaded.set(userId, stored);
      return stored;
    });
    for (const [userId, projected] of touched) save(userId, projected, loaded);
    if (checkpoint !== undefined) s.saveCheckpoint.run(projection, checkpoint);
    else if (events.length > 0) s.saveCheckpoint.run(projection, Math.max(events.at(-1)!.position, s.checkpoint.get(projection)?.position ?? 0));
  });

  return {
    suffix,
    loadUser,
    saveUsers: (users, projection, checkpoint) => saveUsers.immediate(users, projection, checkpoint),
    async applyEvents(events, projection, checkpoint) {
      if (events.length > 0 || checkpoint !== undefined) apply.immediate(events, projection, checkpoint);
    },
    async checkpoint(projection) {
      return s.checkpoint.get(projection)?.position ?? 0;
    },
    async version() {
      return s.version.get()?.version ?? '';
    },
    async listUsers(query) {
      const { page, count } = listSql(query, 'sqlite', t);
      const rows = db.prepare<unknown[], UserRow>(page.sql).all(...page.params);
      const total = db.prepare<unknown[], { total: number }>(count.sql).get(...count.params)?.total ?? 0;
      const users = rows.map((row): UserListItem => ({
        userId: row.user_id,
        username: row.username,
        usernameKey: row.username_key,
        displayName: row.display_name,
        email: row.email,
        active: row.active === 1,
        idpId: row.idp_id,
        provisionedAt: row.provisioned_at,
        lastLoginAt: row.last_login_at ?? undefined,
        ...(query.withGroups ? { groups: s.groupsOf.all(row.user_id).map((g) => g.group_name) } : {}),
      }));
      return { users, total };
    },
    async findUser(usernameOrId) {
      const row = s.byKey.get(usernameKey(usernameOrId)) ?? s.byId.get(usernameOrId);
      return row ? stateFromRow(row) : undefined;
    },
    async reset() {
      db.transaction(() => {
        for (const table of [t.users, t.groups, t.identities, t.checkpoints]) db.exec(`DELETE FROM ${table}`);
      }).immediate();
    },
    bulkLoad(users, projection, checkpoint) {
      if (bulkLoaded) throw new Error('only a model opened with bulkLoad, and only once');
      bulkLoaded = true;
      // Rows go in in key order, so every B-tree grows at its end instead of at random pages. An
      // identity held by several users keeps the row of the last, as the upserts of save would.
      const byId = [...users].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      const identities = new Map<string, readonly [string, string, string, string]>();
      for (const [userId, { state }] of users) {
        if (state.status !== 'provisioned') continue;
        for (const i of state.identities) identities.set(`${i.idpId.length}:${i.idpId}${i.subject}`, [i.idpId, i.subject, userId, i.linkedAt]);
      }
      const byKey = [...identities.values()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
      for (let i = 0; i < byId.length; i += BULK_USERS) insertUsers.immediate(byId.slice(i, i + BULK_USERS));
      for (let i = 0; i < byKey.length; i += BULK_USERS) insertIdentities.immediate(byKey.slice(i, i + BULK_USERS));
      s.saveCheckpoint.run(projection, checkpoint);
    },
    swapIntoLive() {
      if (suffix === '') throw new Error('the live model cannot be swapped into itself');
      const live = sqliteReadModelTables('');
      db.transaction(() => {
        for (const key of ['users', 'groups', 'identities', 'checkpoints'] as const) {
          db.exec(`DROP TABLE ${live[key]}`);
          db.exec(`ALTER TABLE ${t[key]} RENAME TO ${live[key]}`);
        }
        // Index names follow their table's original name; recreate them under the live names.
        for (const index of db.prepare<[], { name: string }>(`SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE '%${suffix}_by_%'`).all()) {
          db.exec(`DROP INDEX ${index.name}`);
        }
        db.exec(createTablesSql(''));
      }).immediate();
    },
  };
}
