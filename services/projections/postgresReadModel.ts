/**
 * PostgreSQL read model. A batch of events is applied in one transaction with a handful of
 * set-based statements (rows as JSON arrays), and the checkpoint in the same transaction.
 * A table suffix gives an independent model; replay builds one and renames it over the live one.
 */
import { Readable } from 'node:stream';
import { escapeLiteral, type QueryResult } from 'pg';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import { checkout, migratePostgres, inTransaction, type PgClient, type PgPool } from '../shared/postgres/database.js';
import { listenForNotifications } from '../shared/eventStore/postgresNotifications.js';
import { groupKey, usernameKey } from '../provisioning/user/normalize.js';
import type { RawRecordedEvent } from '../../events/envelope.js';
import type { PageCursor, ReadModel, UserListItem } from './readModel.js';
import { listSql, numbered, searchText, whereClause, type Seek, type SqlFragment } from './userQuery.js';
import type { ProvisionedUser } from '../provisioning/user/userState.js';
import { changedParts, projectUsers, stateFromParsedJson, type ProjectedUser } from './userProjection.js';

export function postgresReadModelTables(suffix = '') {
  return {
    users: `jit_users${suffix}`,
    groups: `jit_user_groups${suffix}`,
    identities: `jit_user_identities${suffix}`,
    checkpoints: `jit_projection_checkpoints${suffix}`,
  };
}

export function createReadModelTablesSql(suffix: string): string {
  return `${createTablesSql(suffix, true)}${createIndexesSql(suffix)}`;
}

/**
 * The tables; `keys` false leaves out the primary keys, for a replay that fills empty tables with
 * COPY and adds the keys after (bulkLoad).
 */
function createTablesSql(suffix: string, keys: boolean): string {
  const t = postgresReadModelTables(suffix);
  const key = (columns: string) => (keys ? `,\n      PRIMARY KEY (${columns})` : '');
  return `
    CREATE TABLE IF NOT EXISTS ${t.users} (
      user_id UUID NOT NULL,
      username TEXT NOT NULL,
      username_key TEXT NOT NULL,
      display_name TEXT NOT NULL,
      email TEXT NOT NULL,
      active BOOLEAN NOT NULL,
      idp_id TEXT NOT NULL,
      subject TEXT NOT NULL,
      provisioned_at TEXT NOT NULL,
      last_login_at TEXT,
      deactivated_at TEXT,
      search_text TEXT NOT NULL,
      position BIGINT NOT NULL,
      state JSONB NOT NULL${key('user_id')}
    );
    CREATE TABLE IF NOT EXISTS ${t.groups} (
      user_id UUID NOT NULL,
      group_key TEXT NOT NULL,
      group_name TEXT NOT NULL,
      granted_by JSONB NOT NULL${key('user_id, group_key')}
    );
    CREATE TABLE IF NOT EXISTS ${t.identities} (
      idp_id TEXT NOT NULL,
      subject TEXT NOT NULL,
      user_id UUID NOT NULL,
      linked_at TEXT NOT NULL${key('idp_id, subject')}
    );
    CREATE TABLE IF NOT EXISTS ${t.checkpoints} (name TEXT PRIMARY KEY, position BIGINT NOT NULL);
  `;
}

function createIndexesSql(suffix: string): string {
  return `${usersIndexesSql(suffix)}${groupsAndIdentitiesIndexesSql(suffix)}`;
}

function usersIndexesSql(suffix: string): string {
  const t = postgresReadModelTables(suffix);
  return `
    CREATE INDEX IF NOT EXISTS ${t.users}_by_key ON ${t.users} (username_key COLLATE "C", user_id);
    CREATE INDEX IF NOT EXISTS ${t.users}_by_idp ON ${t.users} (idp_id, username_key COLLATE "C");
  `;
}

function groupsAndIdentitiesIndexesSql(suffix: string): string {
  const t = postgresReadModelTables(suffix);
  return `
    CREATE INDEX IF NOT EXISTS ${t.groups}_by_group ON ${t.groups} (group_key, user_id);
    ${identitiesByUserSql(suffix)}
  `;
}

/** Rows of a user's identities are replaced by user id at every change: without this index each replacement scans the table. */
function identitiesByUserSql(suffix: string): string {
  const t = postgresReadModelTables(suffix);
  return `CREATE INDEX IF NOT EXISTS ${t.identities}_by_user ON ${t.identities} (user_id);`;
}

const LIVE_MIGRATIONS = [
  { name: 'read-model-1', sql: createReadModelTablesSql('') },
  { name: 'read-model-2-identities-by-user', sql: identitiesByUserSql('') },
];

type UserRow = {
  user_id: string;
  username: string;
  username_key: string;
  display_name: string;
  email: string;
  active: boolean;
  idp_id: string;
  provisioned_at: string;
  last_login_at: string | null;
};

export type PostgresReadModel = ReadModel & {
  readonly suffix: string;
  /** Stored states (and the position each was projected to) of these users; absent users are not in the map. */
  loadUsersWith(client: PgClient | PgPool, userIds: readonly string[]): Promise<Map<string, ProjectedUser>>;
  /** Writes the rows of already-projected users (replay folds in memory and writes each user once per flush). */
  saveUsersWith(client: PgClient, users: ReadonlyMap<string, ProjectedUser>): Promise<void>;
  /** Sets a projection's checkpoint (`max`: only ever moves it forward). */
  saveCheckpointWith(client: PgClient, projection: string, position: number, max?: boolean): Promise<void>;
  /** Applies a batch inside a transaction the caller controls (Kafka consumer, replay swap). */
  applyEventsWith(client: PgClient, events: readonly RawRecordedEvent[], projection: string, checkpoint?: number): Promise<void>;
  /**
   * Fills the empty tables of a model opened with `bulkLoad` (COPY, one transaction, with the
   * checkpoint), then adds their keys and indexes and gathers planner statistics. Once only.
   */
  bulkLoad(users: ReadonlyMap<string, ProjectedUser>, projection: string, checkpoint: number): Promise<void>;
  /** Replaces the live tables with this model's (replay), inside the given transaction. */
  swapIntoLive(client: PgClient): Promise<void>;
  /** Stops listening for changes (the pool stays open: its owner ends it after this). */
  close(): Promise<void>;
};

/**
 * Every transaction that changes the live model notifies this channel (PostgreSQL delivers it at
 * commit, and not at all on rollback), so each process's memo of version() learns of changes made
 * by any process: the projections service, the Kafka projector, `jit replay`.
 */
export const READ_MODEL_CHANNEL = 'jit_read_model';
const NOTIFY_CHANGED = `SELECT pg_notify('${READ_MODEL_CHANNEL}', '')`;

/**
 * Live models of one pool (one process), told when a pool client that changed the live tables in
 * a transaction goes back to the pool, that is after its COMMIT or ROLLBACK: a write of this
 * process invalidates the memo synchronously, without waiting for its own notification. This also
 * covers writes through another model of the pool (replay's fresh model swapping into live).
 */
type PoolWrites = { changed: WeakSet<PgClient>; invalidators: Set<() => void> };
const poolWrites = new WeakMap<PgPool, PoolWrites>();

function writesOf(pool: PgPool): PoolWrites {
  let writes = poolWrites.get(pool);
  if (!writes) {
    const created: PoolWrites = { changed: new WeakSet(), invalidators: new Set() };
    pool.on('release', (_error: Error | undefined, client: PgClient) => {
      if (created.changed.delete(client)) for (const invalidate of created.invalidators) invalidate();
    });
    poolWrites.set(pool, created);
    writes = created;
  }
  return writes;
}

/** Retry delays of the LISTEN connection: 250 ms doubling up to 30 s. */
const defaultRelistenDelayMs = (failures: number) => Math.min(250 * 2 ** Math.min(failures - 1, 7), 30_000);
/** How often the LISTEN connection is checked, so a silently dead one stops vouching for the memo. */
const LISTEN_HEALTH_CHECK_MS = 10_000;

/**
 * version() of the live model, answered from memory while a LISTEN on READ_MODEL_CHANNEL is
 * established and healthy, by a query otherwise.
 *
 * Why the memo is never stale for long: it is only ever taken from a query that started after the
 * LISTEN was in effect, so every transaction that commits after that query's snapshot notifies
 * us, and every notification (and every write of this process, see PoolWrites) drops the memo.
 * When the connection is lost the memo is dropped and every call queries until LISTEN is back.
 *
 * The one window left: a notification already sent (its transaction committed) but not yet
 * handled by this process, while a request reads the memo. That request gets the previous
 * version, which it would also have got had it arrived a moment earlier, before the commit: no
 * client can tell the difference, as nothing orders the request after the other process's commit
 * (the read model trails the event log anyway: projection is asynchronous). Every request
 * handled after the notification sees the new version. Writes of this process invalidate
 * synchronously after their commit, so this process reads its own writes.
 */
function memoizedVersion(pool: PgPool, readVersion: () => Promise<string>, writes: PoolWrites, relistenDelayMs: (failures: number) => number) {
  let memo: Promise<string> | undefined;
  let listening = false;
  let listener: { stop(): Promise<void> } | undefined;
  let closed = false;
  const invalidate = () => {
    memo = undefined;
  };
  writes.invalidators.add(invalidate);
  return {
    version(): Promise<string> {
      if (closed) return readVersion();
      listener ??= listenForNotifications(pool, READ_MODEL_CHANNEL, invalidate, {
        onListening: () => {
          invalidate();
          listening = true;
        },
        onLost: () => {
          listening = false;
          invalidate();
        },
        retryDelayMs: relistenDelayMs,
        healthCheckMs: LISTEN_HEALTH_CHECK_MS,
      });
      if (!listening) return readVersion();
      if (memo) return memo;
      // Set before the query answers, so concurrent callers share it and a notification arriving
      // meanwhile drops it (those callers still get the answer: they were racing that commit).
      const value = readVersion();
      memo = value;
      value.catch(() => {
        if (memo === value) memo = undefined;
      });
      return value;
    },
    async close() {
      closed = true;
      listening = false;
      invalidate();
      writes.invalidators.delete(invalidate);
      await listener?.stop();
    },
  };
}

type UserRowValues = UserRow & {
  subject: string;
  deactivated_at: string | null;
  search_text: string;
  position: number;
  state: ProvisionedUser;
};

function userRow(userId: string, state: ProvisionedUser, position: number): UserRowValues {
  return {
    user_id: userId,
    username: state.username,
    username_key: usernameKey(state.username),
    display_name: state.displayName,
    email: state.email,
    active: state.active,
    idp_id: state.idpId,
    subject: state.subject,
    provisioned_at: state.provisionedAt,
    last_login_at: state.lastLoginAt === undefined ? null : new Date(state.lastLoginAt).toISOString(),
    deactivated_at: state.deactivatedAt ?? null,
    search_text: searchText(state.username, state.displayName, state.email),
    position,
    state,
  };
}

/**
 * The rows of the touched users. Without `before` every user's groups and identities are written
 * anew; with it (the stored users the batch was folded onto) only those that changed.
 */
function rowsOf(touched: ReadonlyMap<string, ProjectedUser>, before?: ReadonlyMap<string, ProjectedUser>) {
  const users: UserRowValues[] = [];
  const groups: unknown[] = [];
  const identities: unknown[] = [];
  const regrouped: string[] = [];
  const reidentified: string[] = [];
  for (const [userId, { state, position }] of touched) {
    if (state.status !== 'provisioned') continue;
    users.push(userRow(userId, state, position));
    const changed = before ? changedParts(before.get(userId)?.state, state) : { groups: true, identities: true };
    if (changed.groups) {
      regrouped.push(userId);
      for (const m of Object.values(state.groups)) groups.push({ user_id: userId, group_key: groupKey(m.name), group_name: m.name, granted_by: m.grants });
    }
    if (changed.identities) {
      reidentified.push(userId);
      for (const i of state.identities) identities.push({ idp_id: i.idpId, subject: i.subject, user_id: userId, linked_at: i.linkedAt });
    }
  }
  return { users, groups, identities, regrouped, reidentified };
}

/** A text[] literal for SQL text: every element double-quoted inside the array, the whole an escaped string. */
function arrayLiteral(values: readonly string[]): string {
  return escapeLiteral(`{${values.map((v) => `"${v.replace(/["\\]/g, '\\$&')}"`).join(',')}}`);
}

type StoredUserRow = { user_id: string; state: unknown; position: number };

/** Columns of the users table in WHERE, ORDER BY or joins of the read model's queries (userQuery.ts, findUser). */
const PLANNED_USER_COLUMNS = '(user_id, username_key, idp_id, active, provisioned_at, last_login_at, deactivated_at)';

/** A user id as findUser accepts it (any case). */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const COPY_SPECIAL = /[\\\t\n\r]/;
const COPY_SPECIALS = /[\\\t\n\r]/g;
const COPY_ESCAPES: Readonly<Record<string, string>> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** A value in COPY's text format. */
function copyField(value: string | null): string {
  if (value === null) return '\\N';
  return COPY_SPECIAL.test(value) ? value.replace(COPY_SPECIALS, (c) => COPY_ESCAPES[c]!) : value;
}

/** Users per chunk of COPY data. */
const COPY_CHUNK_USERS = 2000;

/**
 * The COPY data of the three tables, in chunks. An identity held by several users keeps the row of
 * the last one, as the upserts of saveUsersWith would leave it.
 */
function* copyChunks(users: ReadonlyMap<string, ProjectedUser>, table: 'users' | 'groups' | 'identities'): Generator<string> {
  let chunk = '';
  let count = 0;
  const identities = new Map<string, { idpId: string; subject: string; userId: string; linkedAt: string }>();
  for (const [userId, { state, position }] of users) {
    if (state.status !== 'provisioned') continue;
    if (table === 'users') {
      const r = userRow(userId, state, position);
      chunk += `${r.user_id}\t${copyField(r.username)}\t${copyField(r.username_key)}\t${copyField(r.display_name)}\t${copyField(r.email)}\t${r.active ? 't' : 'f'}\t${copyField(r.idp_id)}\t${copyField(r.subject)}\t${copyField(r.provisioned_at)}\t${copyField(r.last_login_at)}\t${copyField(r.deactivated_at)}\t${copyField(r.search_text)}\t${r.position}\t${copyField(JSON.stringify(r.state))}\n`;
    } else if (table === 'groups') {
      for (const m of Object.values(state.groups)) chunk += `${userId}\t${copyField(groupKey(m.name))}\t${copyField(m.name)}\t${copyField(JSON.stringify(m.grants))}\n`;
    } else {
      for (const i of state.identities) identities.set(`${i.idpId.length}:${i.idpId}${i.subject}`, { idpId: i.idpId, subject: i.subject, userId, linkedAt: i.linkedAt });
    }
    if (++count === COPY_CHUNK_USERS) {
      if (chunk !== '') yield chunk;
      chunk = '';
      count = 0;
    }
  }
  for (const i of identities.values()) {
    chunk += `${copyField(i.idpId)}\t${copyField(i.subject)}\t${i.userId}\t${copyField(i.linkedAt)}\n`;
    if (++count === COPY_CHUNK_USERS) {
      yield chunk;
      chunk = '';
      count = 0;
    }
  }
  if (chunk !== '') yield chunk;
}

/** A `start` at or past this many rows is resolved to a keyset position (see seekFor). */
const SEEK_EVERY = 1000;
/** Distinct filters whose count and seek keys are kept. */
const MAX_CACHED_FILTERS = 64;

type Versioned<T> = { version: string; value: Promise<T> };

/** The value for this key at this version, computed once (concurrent callers share the promise). */
function cached<T>(cache: Map<string, Versioned<T>>, key: string, version: string, compute: () => Promise<T>): Promise<T> {
  const hit = cache.get(key);
  if (hit && hit.version === version) return hit.value;
  if (cache.size >= MAX_CACHED_FILTERS) cache.clear();
  const value = compute();
  cache.set(key, { version, value });
  value.catch(() => {
    if (cache.get(key)?.value === value) cache.delete(key);
  });
  return value;
}

export type PostgresReadModelOptions = {
  suffix?: string;
  /** Delay before listening again after this many failed attempts (tests; default 250 ms doubling up to 30 s). */
  relistenDelayMs?: (failures: number) => number;
  /**
   * Start from new, empty tables without keys or indexes (replay, not the live model): bulkLoad
   * fills them and adds those. Drops whatever tables of this suffix exist.
   */
  bulkLoad?: boolean;
};

export async function getPostgresReadModel(pool: PgPool, options: PostgresReadModelOptions = {}): Promise<PostgresReadModel> {
  const suffix = options.suffix ?? '';
  const t = postgresReadModelTables(suffix);
  const bulk = options.bulkLoad === true;
  if (bulk && suffix === '') throw new Error('the live model cannot be bulk loaded');
  if (suffix === '') await migratePostgres(pool, LIVE_MIGRATIONS);
  else if (bulk) await pool.query(`DROP TABLE IF EXISTS ${t.users}, ${t.groups}, ${t.identities}, ${t.checkpoints}; ${createTablesSql(suffix, false)}`);
  else await pool.query(createReadModelTablesSql(suffix));
  let bulkLoaded = !bulk;
  const writes = writesOf(pool);
  /** Called inside a transaction that changes the live tables: notify every process at commit, and this one at release. */
  const changingLive = async (client: PgClient) => {
    writes.changed.add(client);
    await client.query(NOTIFY_CHANGED);
  };

  const loadUsersSql = (userIds: readonly string[]) => `SELECT user_id, state, position FROM ${t.users} WHERE user_id = ANY(${arrayLiteral(userIds)}::uuid[])`;

  const loadUsersWith = async (client: PgClient | PgPool, userIds: readonly string[]) => {
    const stored = new Map<string, ProjectedUser>();
    if (userIds.length === 0) return stored;
    const { rows } = await client.query<StoredUserRow>(
      `SELECT user_id, state, position FROM ${t.users} WHERE user_id = ANY($1::uuid[])`,
      [userIds],
    );
    for (const row of rows) stored.set(row.user_id, { state: stateFromParsedJson(row.state), position: row.position });
    return stored;
  };

  /**
   * The statements that write users and a checkpoint, as SQL text with every value an escaped
   * literal: the hot path (applyEvents) sends them with its COMMIT in one round trip (simple
   * query protocol), instead of one round trip per statement.
   */
  const saveUsersSql = (touched: ReadonlyMap<string, ProjectedUser>, before?: ReadonlyMap<string, ProjectedUser>): string[] => {
    const { users, groups, identities, regrouped, reidentified } = rowsOf(touched, before);
    if (users.length === 0) return [];
    const statements = [
      `INSERT INTO ${t.users} SELECT * FROM jsonb_populate_recordset(NULL::${t.users}, ${escapeLiteral(JSON.stringify(users))}::jsonb)
       ON CONFLICT (user_id) DO UPDATE SET username = EXCLUDED.username, username_key = EXCLUDED.username_key,
         display_name = EXCLUDED.display_name, email = EXCLUDED.email, active = EXCLUDED.active, idp_id = EXCLUDED.idp_id,
         subject = EXCLUDED.subject, provisioned_at = EXCLUDED.provisioned_at, last_login_at = EXCLUDED.last_login_at,
         deactivated_at = EXCLUDED.deactivated_at, search_text = EXCLUDED.search_text, position = EXCLUDED.position,
         state = EXCLUDED.state`,
    ];
    if (regrouped.length > 0) statements.push(`DELETE FROM ${t.groups} WHERE user_id = ANY(${arrayLiteral(regrouped)}::uuid[])`);
    if (groups.length > 0) statements.push(`INSERT INTO ${t.groups} SELECT * FROM jsonb_populate_recordset(NULL::${t.groups}, ${escapeLiteral(JSON.stringify(groups))}::jsonb)`);
    if (reidentified.length > 0) statements.push(`DELETE FROM ${t.identities} WHERE user_id = ANY(${arrayLiteral(reidentified)}::uuid[])`);
    if (identities.length > 0) {
      statements.push(
        `INSERT INTO ${t.identities} SELECT * FROM jsonb_populate_recordset(NULL::${t.identities}, ${escapeLiteral(JSON.stringify(identities))}::jsonb)
         ON CONFLICT (idp_id, subject) DO UPDATE SET user_id = EXCLUDED.user_id, linked_at = EXCLUDED.linked_at`,
      );
    }
    return statements;
  };

  const saveCheckpointSql = (projection: string, position: number, max = false): string[] => {
    if (!Number.isSafeInteger(position)) throw new Error(`checkpoint position ${position} is no integer`);
    return [
      `INSERT INTO ${t.checkpoints} (name, position) VALUES (${escapeLiteral(projection)}, ${position})
       ON CONFLICT (name) DO UPDATE SET position = ${max ? `GREATEST(${t.checkpoints}.position, EXCLUDED.position)` : 'EXCLUDED.position'}`,
      ...(suffix === '' ? [NOTIFY_CHANGED] : []),
    ];
  };

  const touchedUserIds = (events: readonly RawRecordedEvent[]) => [...new Set(events.filter((e) => e.streamId.startsWith('user-')).map((e) => e.streamId.slice(5)))];

  /** The statements of one applied batch, given the stored users it touches. */
  const applySql = (events: readonly RawRecordedEvent[], stored: ReadonlyMap<string, ProjectedUser>, projection: string, checkpoint?: number): string[] => [
    ...saveUsersSql(projectUsers(events, (id) => stored.get(id)), stored),
    ...(checkpoint !== undefined ? saveCheckpointSql(projection, checkpoint) : saveCheckpointSql(projection, events.at(-1)!.position, true)),
  ];

  const saveUsersWith = async (client: PgClient, touched: ReadonlyMap<string, ProjectedUser>) => {
    const statements = saveUsersSql(touched);
    if (statements.length > 0) await client.query(statements.join(';\n'));
  };

  const saveCheckpointWith = async (client: PgClient, projection: string, position: number, max = false) => {
    if (suffix === '') writes.changed.add(client);
    await client.query(saveCheckpointSql(projection, position, max).join(';\n'));
  };

  const applyEventsWith = async (client: PgClient, events: readonly RawRecordedEvent[], projection: string, checkpoint?: number) => {
    if (events.length === 0 && checkpoint === undefined) return;
    if (suffix === '') writes.changed.add(client);
    const stored = await loadUsersWith(client, touchedUserIds(events));
    await client.query(applySql(events, stored, projection, checkpoint).join(';\n'));
  };

  /**
   * applyEvents in two round trips: BEGIN with the read of the touched users, then every write
   * with the COMMIT (one, when the batch touches no user).
   */
  const applyEvents = async (events: readonly RawRecordedEvent[], projection: string, checkpoint?: number) => {
    if (events.length === 0 && checkpoint === undefined) return;
    const client = await checkout(pool);
    try {
      if (suffix === '') writes.changed.add(client);
      const userIds = touchedUserIds(events);
      const stored = new Map<string, ProjectedUser>();
      let begin = ['BEGIN'];
      if (userIds.length > 0) {
        const results = (await client.query(`BEGIN; ${loadUsersSql(userIds)}`)) as unknown as QueryResult<StoredUserRow>[];
        for (const row of results[1]!.rows) stored.set(row.user_id, { state: stateFromParsedJson(row.state), position: row.position });
        begin = [];
      }
      await client.query([...begin, ...applySql(events, stored, projection, checkpoint), 'COMMIT'].join(';\n'));
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  };

  // Counting and seeking cost a scan of every matching row: their answers are kept per version
  // of the model (and per filter), so only the first request after a change pays for them.
  const versionSql = `SELECT (SELECT COALESCE(SUM(position), 0) || ':' || COUNT(*) FROM ${t.checkpoints}) || ':' || '${t.users}'::regclass::oid AS version`;
  const readVersion = async () => (await pool.query<{ version: string }>(versionSql)).rows[0]?.version ?? '';
  // Tables with a suffix (replay's fresh model) are read by nobody while they are built: no memo.
  const live = suffix === '' ? memoizedVersion(pool, readVersion, writes, options.relistenDelayMs ?? defaultRelistenDelayMs) : undefined;
  const currentVersion = live ? live.version : readVersion;
  const totals = new Map<string, Versioned<number>>();
  const seeks = new Map<string, Versioned<PageCursor[]>>();
  /** The sort keys of every SEEK_EVERY-th matching user: `start` becomes a keyset position plus a short OFFSET. */
  const seekFor = async (filterKey: string, version: string, start: number, where: SqlFragment): Promise<Seek | undefined> => {
    const keys = await cached(seeks, filterKey, version, async () => {
      const { rows } = await pool.query<{ username_key: string; user_id: string }>(
        numbered(
          {
            sql: `SELECT username_key, user_id FROM (
                    SELECT u.username_key, u.user_id, row_number() OVER (ORDER BY u.username_key COLLATE "C", u.user_id) AS rank
                    FROM ${t.users} u ${where.sql}) ranked
                  WHERE rank % ${SEEK_EVERY} = 0 ORDER BY rank`,
            params: where.params,
          },
          'postgres',
        ).sql,
        where.params,
      );
      return rows.map((r) => ({ usernameKey: r.username_key, userId: r.user_id }));
    });
    const index = Math.min(Math.floor(start / SEEK_EVERY), keys.length);
    return index === 0 ? undefined : { cursor: keys[index - 1]!, skip: start - index * SEEK_EVERY };
  };

  return {
    suffix,
    loadUsersWith,
    saveUsersWith,
    saveCheckpointWith,
    applyEventsWith,
    applyEvents,
    async checkpoint(projection) {
      const { rows } = await pool.query<{ position: number }>(`SELECT position FROM ${t.checkpoints} WHERE name = $1`, [projection]);
      return rows[0]?.position ?? 0;
    },
    version: currentVersion,
    async listUsers(query) {
      const version = await currentVersion();
      const where = whereClause(query, 'postgres', t);
      const filterKey = JSON.stringify([where.sql, where.params]);
      const seek = query.cursor || query.start < SEEK_EVERY ? undefined : await seekFor(filterKey, version, query.start, where);
      const { page, count } = listSql(query, 'postgres', t, seek);
      const [pageResult, total] = await Promise.all([
        pool.query<UserRow>(page.sql, page.params),
        cached(totals, filterKey, version, async () => Number((await pool.query<{ total: number }>(count.sql, count.params)).rows[0]?.total ?? 0)),
      ]);
      const groupsByUser = new Map<string, string[]>();
      if (query.withGroups && pageResult.rows.length > 0) {
        const { rows } = await pool.query<{ user_id: string; group_name: string }>(
          `SELECT user_id, group_name FROM ${t.groups} WHERE user_id = ANY($1::uuid[]) ORDER BY group_key`,
          [pageResult.rows.map((r) => r.user_id)],
        );
        for (const row of rows) groupsByUser.set(row.user_id, [...(groupsByUser.get(row.user_id) ?? []), row.group_name]);
      }
      const users = pageResult.rows.map((row): UserListItem => ({
        userId: row.user_id,
        username: row.username,
        usernameKey: row.username_key,
        displayName: row.display_name,
        email: row.email,
        active: row.active,
        idpId: row.idp_id,
        provisionedAt: row.provisioned_at,
        lastLoginAt: row.last_login_at ?? undefined,
        ...(query.withGroups ? { groups: groupsByUser.get(row.user_id) ?? [] } : {}),
      }));
      return { users, total };
    },
    async findUser(usernameOrId) {
      // Two index lookups: the key compared as "C", the collation of the (username_key, user_id)
      // index (the column's own may differ, and then an equality would scan the table), and the
      // primary key when the text is a UUID. A username match wins over a user id match.
      const { rows } = await pool.query<{ state: unknown }>(
        `SELECT state FROM (
           (SELECT state, 0 AS rank FROM ${t.users} WHERE username_key COLLATE "C" = $1::text COLLATE "C" ORDER BY username_key COLLATE "C", user_id LIMIT 1)
           UNION ALL
           (SELECT state, 1 FROM ${t.users} WHERE user_id = $2::uuid)
         ) found ORDER BY rank LIMIT 1`,
        [usernameKey(usernameOrId), UUID.test(usernameOrId) ? usernameOrId : null],
      );
      return rows[0] ? stateFromParsedJson(rows[0].state) : undefined;
    },
    async reset() {
      const truncate = `TRUNCATE ${t.users}, ${t.groups}, ${t.identities}, ${t.checkpoints}`;
      if (suffix !== '') await pool.query(truncate);
      else {
        await inTransaction(pool, async (client) => {
          await client.query(truncate);
          await changingLive(client);
        });
      }
    },
    async bulkLoad(users, projection, checkpoint) {
      if (bulkLoaded) throw new Error('only a model opened with bulkLoad, and only once');
      bulkLoaded = true;
      const withClient = async (work: (client: PgClient) => Promise<void>) => {
        const client = await checkout(pool);
        try {
          await work(client);
        } finally {
          client.release();
        }
      };
      const copy = (client: PgClient, table: 'users' | 'groups' | 'identities') =>
        pipeline(Readable.from(copyChunks(users, table)), client.query(copyFrom(`COPY ${t[table]} FROM STDIN`)));
      // Nobody reads these tables before the swap, so each step commits on its own: the keys and
      // indexes of the users are built (on another connection) while the other tables load.
      await withClient((client) => copy(client, 'users'));
      // ANALYZE only the columns that queries filter, sort or join on: statistics of the wide
      // state JSON (most of a row) cost most of the sampling and no plan uses them. Autovacuum
      // analyzes the whole tables later, as after any large load.
      await Promise.all([
        pool.query(`ALTER TABLE ${t.users} ADD PRIMARY KEY (user_id); ${usersIndexesSql(suffix)} ANALYZE ${t.users} ${PLANNED_USER_COLUMNS};`),
        withClient(async (client) => {
          await copy(client, 'groups');
          await copy(client, 'identities');
          await client.query(
            `ALTER TABLE ${t.groups} ADD PRIMARY KEY (user_id, group_key); ALTER TABLE ${t.identities} ADD PRIMARY KEY (idp_id, subject);
             ${groupsAndIdentitiesIndexesSql(suffix)} ANALYZE ${t.groups} (user_id, group_key), ${t.identities};`,
          );
          await saveCheckpointWith(client, projection, checkpoint);
        }),
      ]);
    },
    async swapIntoLive(client) {
      if (suffix === '') throw new Error('the live model cannot be swapped into itself');
      const live = postgresReadModelTables('');
      for (const key of ['users', 'groups', 'identities', 'checkpoints'] as const) {
        await client.query(`DROP TABLE IF EXISTS ${live[key]}`);
        await client.query(`ALTER TABLE ${t[key]} RENAME TO ${live[key]}`);
      }
      for (const [from, to] of [
        [`${t.users}_by_key`, `${live.users}_by_key`],
        [`${t.users}_by_idp`, `${live.users}_by_idp`],
        [`${t.groups}_by_group`, `${live.groups}_by_group`],
        [`${t.identities}_by_user`, `${live.identities}_by_user`],
      ] as const) {
        await client.query(`ALTER INDEX IF EXISTS ${from} RENAME TO ${to}`);
      }
      await changingLive(client);
    },
    async close() {
      await live?.close();
    },
  };
}
