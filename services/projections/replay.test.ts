/**
 * jit replay on both backends: the swapped-in model must hold exactly the rows the ordinary
 * projection (applyEvents, batch by batch) writes for the same log — with everything bulk loaded
 * at the end, with a memory bound small enough to force the fallback to upserts (evicting and
 * re-reading users), with events appended while the replay runs (the catch-up under the lock),
 * over an earlier model, and for an empty log.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { UserEvent } from '../../events/catalogue.js';
import type { RawRecordedEvent } from '../../events/envelope.js';
import type { GroupSource } from '../../schemas/types.gen.js';
import { createTestDatabase } from '../../test/support/postgres.js';
import { seededRandom, testSeed } from '../../test/support/loginStream.js';
import type { EventStore } from '../shared/eventStore/eventStore.js';
import { getPostgresEventStore } from '../shared/eventStore/postgresEventStore.js';
import { getSqliteEventStore } from '../shared/eventStore/sqliteEventStore.js';
import { createPgPool, type PgPool } from '../shared/postgres/database.js';
import { openSqliteDatabase, type SqliteDatabase } from '../shared/sqlite/database.js';
import { getPostgresReadModel, postgresReadModelTables } from './postgresReadModel.js';
import { LIVE_PROJECTION } from './readModel.js';
import { replayPostgresReadModel, replayPostgresReadModelInWorker, replaySqliteReadModel, replaySqliteReadModelInWorker, type ReplayOptions } from './replay.js';
import { getSqliteReadModel, sqliteReadModelTables } from './sqliteReadModel.js';

const seed = testSeed();
t.comment(`seed ${seed} (JIT_TEST_SEED=${seed} repeats this run)`);

/**
 * "H\u0331" alone: with "\u1e96" (its key's own key) as well, evolve can leave two memberships of one
 * group key, which no read model can store (replayFold.test.ts covers that pair against evolve).
 */
const GROUPS = ['Developers', 'developers', 'staff', '__proto__', 'constructor', 'toString', 'H\u0331', '42'];
const SOURCES: GroupSource[] = [{ type: 'idp', 'idp-id': 'corp' }, { type: 'additional-groups', 'idp-id': 'corp' }, { type: 'admin' }];

/** A random log of user streams (plus IdP events the projection ignores), appendable later. */
function randomLog(random: () => number) {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const changes = () => Array.from({ length: Math.floor(random() * 3) }, () => ({ group: pick(GROUPS), source: pick(SOURCES) }));
  const log: RawRecordedEvent[] = [];
  const revisions = new Map<string, number>();
  const users: { id: string; name: string }[] = [];
  const linked = new Set<string>();
  const append = (streamId: string, event: UserEvent | { type: 'IdpUpdated'; data: unknown }) => {
    const revision = (revisions.get(streamId) ?? -1) + 1;
    revisions.set(streamId, revision);
    const position = log.length + 1;
    log.push({
      ...event,
      eventId: randomUUID(),
      metadata: { correlationId: 'c', actor: 'test', schemaVersion: 1 },
      streamId,
      revision,
      position,
      recordedAt: new Date(Date.UTC(2026, 0, 1) + position * 1000).toISOString(),
    } as RawRecordedEvent);
  };
  const provision = (id: string, name: string, subject: string) => {
    const grants = changes();
    append(`user-${id}`, {
      type: 'UserProvisioned',
      data: { 'user-id': id, 'idp-id': 'corp', subject, username: name, 'display-name': `${name} Display`, email: `${name}@example.com`, groups: grants.map((g) => g.group), grants, 'login-id': randomUUID() },
    });
  };
  const next = () => {
    const roll = random();
    if (users.length === 0 || roll < 0.15) {
      const user = { id: randomUUID(), name: `user${users.length}` };
      users.push(user);
      provision(user.id, user.name, `${user.name}-subject`);
      return;
    }
    const user = pick(users);
    const id = user.id;
    if (roll < 0.5) {
      const at = new Date(Date.UTC(2026, 1, 1) + Math.floor(random() * 1e9)).toISOString();
      append(`user-${id}`, { type: 'UserLoggedIn', data: { 'user-id': id, 'idp-id': 'corp', subject: 's', protocol: 'oidc', 'login-id': randomUUID(), 'authenticated-at': at } });
    } else if (roll < 0.7) {
      const grants = changes();
      const revocations = changes();
      const rename = random() < 0.3 ? { username: { from: user.name, to: random() < 0.5 ? user.name.toUpperCase() : `${user.name}x` } } : {};
      append(`user-${id}`, {
        type: 'UserUpdated',
        data: { 'user-id': id, changes: { ...rename, email: { from: 'x', to: `${user.name}\t${Math.floor(random() * 9)}@example.org` } }, 'groups-added': [], 'groups-removed': [], grants, revocations },
      });
    } else if (roll < 0.77) append(`user-${id}`, { type: 'UserDeactivated', data: { 'user-id': id, reason: 'admin' } });
    else if (roll < 0.82) append(`user-${id}`, { type: 'UserReactivated', data: { 'user-id': id } });
    else if (roll < 0.87) {
      // Each identity is linked once (the decider never links one twice).
      const idp = pick(['partner', 'other']);
      if (linked.has(`${idp}:${id}`)) return;
      linked.add(`${idp}:${id}`);
      append(`user-${id}`, { type: 'UserIdentityLinked', data: { 'user-id': id, 'idp-id': idp, subject: `${user.name}\\sub`, username: user.name, 'login-id': randomUUID() } });
    } else if (roll < 0.92) {
      // A stream that only ever sees rejected logins: an unknown user, never written.
      append(`user-${randomUUID()}`, { type: 'LoginRejected', data: { 'idp-id': 'corp', reason: 'provisioning-disabled', message: 'no', problems: [] } });
    } else if (roll < 0.95) append('idp-corp', { type: 'IdpUpdated', data: {} });
    else if (roll < 0.97) {
      // Provisioned again: the state starts over (its linked identities are gone).
      provision(id, user.name, `${user.name}-subject`);
      linked.delete(`partner:${id}`);
      linked.delete(`other:${id}`);
    } else append(`user-${id}`, { type: 'LoginRejected', data: { 'user-id': id, 'idp-id': 'corp', reason: 'user-deactivated', message: 'no', problems: [] } });
  };
  return {
    log,
    grow(count: number) {
      for (let i = 0; i < count; i++) next();
    },
  };
}

/** An event store over the array: replay reads it with readAll and headPosition only. */
function arrayStore(log: RawRecordedEvent[]): EventStore {
  return {
    async readAll({ after = 0, maxCount = Number.MAX_SAFE_INTEGER } = {}) {
      return log.filter((e) => e.position > after).slice(0, maxCount);
    },
    async headPosition() {
      return log.length;
    },
  } as EventStore;
}

type Scenario = { name: string; events: number; during: number; options: ReplayOptions };
const SCENARIOS: Scenario[] = [
  { name: 'everything bulk loaded at the end, events appended meanwhile', events: 1500, during: 40, options: {} },
  { name: 'the same in batches of 100', events: 1500, during: 40, options: { batchSize: 100 } },
  {
    name: 'a memory bound of 7 users: bulk load when full, then upserts, evicting and re-reading',
    events: 1500,
    during: 40,
    options: { maxCachedUsers: 7, batchSize: 50 },
  },
  { name: 'a memory bound reached only by the events appended meanwhile', events: 300, during: 300, options: { maxCachedUsers: 60, batchSize: 40 } },
  { name: 'an empty log', events: 0, during: 0, options: {} },
];

/** Runs a replay whose progress callback appends `during` events once it has seen half the log. */
async function replayWhileWriting(
  scenario: Scenario,
  random: () => number,
  replay: (store: EventStore, onProgress: (done: number, total: number) => void) => Promise<{ events: number }>,
) {
  const log = randomLog(random);
  log.grow(scenario.events);
  let appended = false;
  const progress: [number, number][] = [];
  const result = await replay(arrayStore(log.log), (done, total) => {
    progress.push([done, total]);
    if (!appended && done >= scenario.events / 2) {
      appended = true;
      log.grow(scenario.during);
    }
  });
  return { log: log.log, result, progress };
}

/** JSON with object keys sorted: the order of a state's keys depends on which path wrote it, not what it says. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) Object.defineProperty(out, key, { value: canonical((value as Record<string, unknown>)[key]), enumerable: true });
  return out;
}

/**
 * Rows as JSON lines (tap's strictSame would read a membership named "constructor" as the class),
 * SQLite's JSON text columns parsed.
 */
const asJson = (rows: Record<string, readonly unknown[]>) =>
  Object.fromEntries(
    Object.entries(rows).map(([table, list]) => [
      table,
      list.map((row) => {
        const r = { ...(row as Record<string, unknown>) };
        for (const column of ['state', 'granted_by']) if (typeof r[column] === 'string') r[column] = JSON.parse(r[column]) as unknown;
        return JSON.stringify(canonical(r));
      }),
    ]),
  );

function checkProgress(t: Test, progress: readonly [number, number][], head: number) {
  t.same(progress.at(-1), [head, head], 'progress ends at the head');
  t.ok(progress.every(([done, total], i) => done <= total && (i === 0 || done >= progress[i - 1]![0])), 'progress only moves forward, never past the total');
}

t.test('SQLite', async (t) => {
  const sqliteRows = (db: SqliteDatabase, tables: ReturnType<typeof sqliteReadModelTables>) => ({
    users: db.prepare(`SELECT * FROM ${tables.users} ORDER BY user_id`).all(),
    groups: db.prepare(`SELECT * FROM ${tables.groups} ORDER BY user_id, group_key`).all(),
    identities: db.prepare(`SELECT * FROM ${tables.identities} ORDER BY idp_id, subject`).all(),
  });
  for (const scenario of SCENARIOS) {
    t.test(scenario.name, async (t) => {
      const random = seededRandom(seed + scenario.events + (scenario.options.maxCachedUsers ?? 0));
      const db = openSqliteDatabase(':memory:');
      t.teardown(() => db.close());
      const live = getSqliteReadModel(db);
      const cacheSize = db.pragma('cache_size', { simple: true }) as number;
      const { log, result, progress } = await replayWhileWriting(scenario, random, (store, onProgress) =>
        replaySqliteReadModel(db, store, onProgress, scenario.options),
      );
      t.equal(result.events, log.length, 'replayed up to the head, events appended meanwhile included');
      checkProgress(t, progress, log.length);
      const reference = getSqliteReadModel(db, { suffix: '_reference' });
      for (let i = 0; i < log.length; i += 50) await reference.applyEvents(log.slice(i, i + 50), LIVE_PROJECTION);
      const replayed = sqliteRows(db, sqliteReadModelTables(''));
      t.strictSame(asJson(replayed), asJson(sqliteRows(db, sqliteReadModelTables('_reference'))), 'the live model equals the projection of the log');
      if (log.length > 0) t.ok(replayed.users.length > 0 && replayed.identities.length > 0, 'with users and identities');
      t.equal(await live.checkpoint(LIVE_PROJECTION), log.length, 'the live checkpoint is the head');
      const indexes = db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%' AND tbl_name NOT LIKE '%_reference'").all();
      t.same(indexes.map((i) => i.name).sort(), ['jit_user_groups_by_group', 'jit_user_identities_by_user', 'jit_users_by_idp', 'jit_users_by_key'], 'live indexes only');
      t.equal(db.pragma('cache_size', { simple: true }), cacheSize, 'the page cache size is restored');
    });
  }

  t.test('replays again over an earlier model and a half-built replay', async (t) => {
    const random = seededRandom(seed + 1);
    const db = openSqliteDatabase(':memory:');
    t.teardown(() => db.close());
    getSqliteReadModel(db);
    const first = randomLog(random);
    first.grow(200);
    await replaySqliteReadModel(db, arrayStore(first.log), () => undefined);
    getSqliteReadModel(db, { suffix: '_replay' }).saveUsers(new Map(), LIVE_PROJECTION, 99);
    first.grow(200);
    await replaySqliteReadModel(db, arrayStore(first.log), () => undefined, { maxCachedUsers: 20 });
    const reference = getSqliteReadModel(db, { suffix: '_reference' });
    await reference.applyEvents(first.log, LIVE_PROJECTION);
    t.strictSame(asJson(sqliteRows(db, sqliteReadModelTables(''))), asJson(sqliteRows(db, sqliteReadModelTables('_reference'))), 'the live model equals the projection of the log');
  });

  t.test('jit replay: on a worker thread with its own connection to the database file', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'jit-replay-worker-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const db = openSqliteDatabase({ dataDir: dir });
    t.teardown(() => db.close());
    const store = getSqliteEventStore(db);
    const live = getSqliteReadModel(db);
    const insert = db.prepare('INSERT INTO events (position, event_id, stream_id, revision, type, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    const write = db.transaction((events: readonly RawRecordedEvent[]) => {
      for (const e of events) insert.run(e.position, e.eventId, e.streamId, e.revision, e.type, JSON.stringify(e.data), JSON.stringify(e.metadata), e.recordedAt);
    });
    const log = randomLog(seededRandom(seed + 3));
    log.grow(1200);
    write(log.log);
    const progress: [number, number][] = [];
    const result = await replaySqliteReadModelInWorker(db, store, (done, total) => progress.push([done, total]), { batchSize: 100, maxCachedUsers: 50 });
    t.equal(result.events, log.log.length, 'replayed up to the head');
    checkProgress(t, progress, log.log.length);
    t.ok(progress.length > 10, 'progress reported batch by batch');
    const reference = getSqliteReadModel(db, { suffix: '_reference' });
    await reference.applyEvents(log.log, LIVE_PROJECTION);
    const replayed = sqliteRows(db, sqliteReadModelTables(''));
    t.strictSame(asJson(replayed), asJson(sqliteRows(db, sqliteReadModelTables('_reference'))), 'the live model equals the projection of the log');
    t.equal(await live.checkpoint(LIVE_PROJECTION), log.log.length, 'the live checkpoint is the head');
    t.ok((await live.findUser((replayed.users[0] as { user_id: string }).user_id)) !== undefined, "this connection's live model reads the swapped-in tables");

    // An event the worker cannot read: its error reaches the caller, and the live model stays as it was.
    const before = asJson(sqliteRows(db, sqliteReadModelTables('')));
    const head = log.log.length;
    log.grow(50);
    write(log.log.slice(head));
    db.prepare("UPDATE events SET data = '{not json' WHERE position = ?").run(head + 10);
    await t.rejects(replaySqliteReadModelInWorker(db, store, () => undefined), SyntaxError, 'the worker\'s error');
    t.strictSame(asJson(sqliteRows(db, sqliteReadModelTables(''))), before, 'the live model is untouched');
    t.equal(await live.checkpoint(LIVE_PROJECTION), head, 'and so is its checkpoint');
  });

  t.test('jit replay on a database in memory: on this thread', async (t) => {
    const db = openSqliteDatabase(':memory:');
    t.teardown(() => db.close());
    getSqliteReadModel(db);
    const log = randomLog(seededRandom(seed + 4));
    log.grow(300);
    const result = await replaySqliteReadModelInWorker(db, arrayStore(log.log), () => undefined);
    t.equal(result.events, log.log.length, 'replayed up to the head');
    const reference = getSqliteReadModel(db, { suffix: '_reference' });
    await reference.applyEvents(log.log, LIVE_PROJECTION);
    t.strictSame(asJson(sqliteRows(db, sqliteReadModelTables(''))), asJson(sqliteRows(db, sqliteReadModelTables('_reference'))), 'the live model equals the projection of the log');
  });

  t.test('a replay model is bulk loaded once, and the live model never', async (t) => {
    const db = openSqliteDatabase(':memory:');
    t.teardown(() => db.close());
    const fresh = getSqliteReadModel(db, { suffix: '_replay', bulkLoad: true });
    fresh.bulkLoad(new Map(), LIVE_PROJECTION, 0);
    const indexed = () => db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'jit_user_identities_replay_by_user'").all().length;
    t.equal(indexed(), 0, 'identities are not indexed by user after the bulk load');
    fresh.saveUsers(new Map(), LIVE_PROJECTION, 1);
    t.equal(indexed(), 1, 'but before the first upsert');
    t.throws(() => fresh.bulkLoad(new Map(), LIVE_PROJECTION, 0), /only once/);
    t.throws(() => getSqliteReadModel(db).bulkLoad(new Map(), LIVE_PROJECTION, 0), /only a model opened with bulkLoad/);
    t.throws(() => getSqliteReadModel(db, { bulkLoad: true }), /live model cannot be bulk loaded/);
  });
});

t.test('PostgreSQL', async (t) => {
  const database = await createTestDatabase('replay');
  t.teardown(database.drop);
  const pgRows = async (pool: PgPool, tables: ReturnType<typeof postgresReadModelTables>) => ({
    users: (await pool.query(`SELECT * FROM ${tables.users} ORDER BY user_id`)).rows,
    groups: (await pool.query(`SELECT * FROM ${tables.groups} ORDER BY user_id, group_key`)).rows,
    identities: (await pool.query(`SELECT * FROM ${tables.identities} ORDER BY idp_id, subject`)).rows,
  });
  const keysAndIndexes = async (pool: PgPool, table: string) =>
    (await pool.query<{ def: string }>(`SELECT regexp_replace(indexdef, 'INDEX \\S+ ON public.\\S+', 'INDEX ON') AS def FROM pg_indexes WHERE tablename = $1 ORDER BY 1`, [table])).rows.map((r) => r.def);

  /** A pool with the event store's tables and an empty live read model, closed at the test's end. */
  const emptyLiveModel = async (t: Test) => {
    const pool = createPgPool(database.url, { max: 4 });
    t.teardown(() => pool.end());
    const eventStore = await getPostgresEventStore(pool);
    t.teardown(() => eventStore.close());
    const live = await getPostgresReadModel(pool);
    t.teardown(() => live.close());
    await live.reset();
    return { pool, live };
  };

  for (const scenario of SCENARIOS) {
    t.test(scenario.name, async (t) => {
      const random = seededRandom(seed + scenario.events + (scenario.options.maxCachedUsers ?? 0));
      const { pool, live } = await emptyLiveModel(t);
      const { log, result, progress } = await replayWhileWriting(scenario, random, (store, onProgress) =>
        replayPostgresReadModel(pool, store, onProgress, scenario.options),
      );
      t.equal(result.events, log.length, 'replayed up to the head, events appended meanwhile included');
      checkProgress(t, progress, log.length);
      const reference = await getPostgresReadModel(pool, { suffix: '_reference' });
      await reference.reset();
      for (let i = 0; i < log.length; i += 50) await reference.applyEvents(log.slice(i, i + 50), LIVE_PROJECTION);
      const replayed = await pgRows(pool, postgresReadModelTables(''));
      t.strictSame(asJson(replayed), asJson(await pgRows(pool, postgresReadModelTables('_reference'))), 'the live model equals the projection of the log');
      if (log.length > 0) t.ok(replayed.users.length > 0 && replayed.identities.length > 0, 'with users and identities');
      t.equal(await live.checkpoint(LIVE_PROJECTION), log.length, 'the live checkpoint is the head');
      const names = postgresReadModelTables('');
      const referenceNames = postgresReadModelTables('_reference');
      for (const key of ['users', 'groups', 'identities'] as const) {
        t.same(await keysAndIndexes(pool, names[key]), await keysAndIndexes(pool, referenceNames[key]), `${names[key]}: the same keys and indexes as a model created with them`);
      }
      if (log.length > 0) {
        const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stats WHERE tablename = $1', [names.users]);
        t.ok(rows[0]!.n > 0, 'planner statistics gathered');
      }
    });
  }

  t.test('jit replay: on a worker thread with a pool of its own', async (t) => {
    const { pool, live } = await emptyLiveModel(t);
    await pool.query('TRUNCATE jit_events; UPDATE jit_log_head SET position = 0');
    const insertAll = async (events: readonly RawRecordedEvent[]) => {
      await pool.query(
        `INSERT INTO jit_events (position, event_id, stream_id, revision, type, data, metadata, recorded_at)
         SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(position BIGINT, event_id UUID, stream_id TEXT, revision INTEGER, type TEXT, data JSONB, metadata JSONB, recorded_at TIMESTAMPTZ)`,
        [JSON.stringify(events.map((e) => ({ position: e.position, event_id: e.eventId, stream_id: e.streamId, revision: e.revision, type: e.type, data: e.data, metadata: e.metadata, recorded_at: e.recordedAt })))],
      );
      await pool.query('UPDATE jit_log_head SET position = (SELECT max(position) FROM jit_events)');
    };
    const log = randomLog(seededRandom(seed + 5));
    log.grow(1200);
    await insertAll(log.log);
    const progress: [number, number][] = [];
    const result = await replayPostgresReadModelInWorker(database.url, (done, total) => progress.push([done, total]), { batchSize: 100, maxCachedUsers: 50 });
    t.equal(result.events, log.log.length, 'replayed up to the head');
    checkProgress(t, progress, log.log.length);
    t.ok(progress.length > 10, 'progress reported batch by batch');
    const reference = await getPostgresReadModel(pool, { suffix: '_worker_reference' });
    await reference.reset();
    await reference.applyEvents(log.log, LIVE_PROJECTION);
    t.strictSame(asJson(await pgRows(pool, postgresReadModelTables(''))), asJson(await pgRows(pool, postgresReadModelTables('_worker_reference'))), 'the live model equals the projection of the log');
    t.equal(await live.checkpoint(LIVE_PROJECTION), log.log.length, 'the live checkpoint is the head');

    // An event the worker cannot read (metadata JSON null): its error reaches the caller, and the live model stays as it was.
    const before = asJson(await pgRows(pool, postgresReadModelTables('')));
    const head = log.log.length;
    log.grow(50);
    await insertAll(log.log.slice(head));
    await pool.query("UPDATE jit_events SET metadata = 'null' WHERE position = $1", [head + 10]);
    await t.rejects(replayPostgresReadModelInWorker(database.url, () => undefined), TypeError, "the worker's error");
    t.strictSame(asJson(await pgRows(pool, postgresReadModelTables(''))), before, 'the live model is untouched');
    t.equal(await live.checkpoint(LIVE_PROJECTION), head, 'and so is its checkpoint');
    await pool.query('TRUNCATE jit_events; UPDATE jit_log_head SET position = 0');
  });

  t.test('a replay model is bulk loaded once, and the live model never', async (t) => {
    const pool = createPgPool(database.url, { max: 2 });
    t.teardown(() => pool.end());
    const fresh = await getPostgresReadModel(pool, { suffix: '_once', bulkLoad: true });
    await fresh.bulkLoad(new Map(), LIVE_PROJECTION, 0);
    await t.rejects(fresh.bulkLoad(new Map(), LIVE_PROJECTION, 0), /only once/);
    await t.rejects(getPostgresReadModel(pool, { bulkLoad: true }), /live model cannot be bulk loaded/);
  });
});
