/**
 * version() of the live PostgreSQL read model is answered from memory while its LISTEN connection
 * is healthy: it must still change as soon as this process commits a change, soon after another
 * process (another pool) commits one, and fall back to querying when the LISTEN connection dies.
 */
import t, { type Test } from 'tap';
import { createTestDatabase } from '../../test/support/postgres.js';
import { createPgPool, inTransaction, type PgPool } from '../shared/postgres/database.js';
import { logBuilder } from './readModelContract.js';
import { getPostgresReadModel, READ_MODEL_CHANNEL, type PostgresReadModel, type PostgresReadModelOptions } from './postgresReadModel.js';

const database = await createTestDatabase('read_model_version');
t.teardown(database.drop);

/** The log every instance (process) writes from: positions keep growing across tests. */
const b = logBuilder();
let users = 0;
/** Appends one new user to the log and returns its event. */
const nextUser = () => {
  b.provision(`user${String(++users).padStart(5, '0')}`);
  return b.log.slice(-1);
};

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Counts the version queries a pool runs. */
function countVersionQueries(pool: PgPool): () => number {
  let count = 0;
  const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  (pool as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].includes('::regclass::oid AS version')) count += 1;
    return query(...args);
  };
  return () => count;
}

type Instance = { pool: PgPool; model: PostgresReadModel; versionQueries: () => number };

/** A pool and live model, as one process has them. */
async function instance(t: Test, options: Omit<PostgresReadModelOptions, 'suffix'> = {}): Promise<Instance> {
  const pool = createPgPool(database.url, { max: 4 });
  const versionQueries = countVersionQueries(pool);
  const model = await getPostgresReadModel(pool, options);
  t.teardown(async () => {
    await model.close();
    await pool.end();
  });
  return { pool, model, versionQueries };
}

/** Whether version() answers from memory: two calls in a row without a change cost at most one query. */
async function memoized({ model, versionQueries }: Instance): Promise<boolean> {
  const before = versionQueries();
  await model.version();
  await model.version();
  return versionQueries() - before <= 1;
}

async function listenerPids(pool: PgPool): Promise<number[]> {
  const { rows } = await pool.query<{ pid: number }>(
    'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query = $1 ORDER BY pid',
    [`LISTEN ${READ_MODEL_CHANNEL}`],
  );
  return rows.map((r) => r.pid);
}

const total = async (model: PostgresReadModel) => (await model.listUsers({ start: 0, limit: 1, withGroups: false })).total;

t.test('answers from memory while listening, and changes as soon as a change of this process commits', async (t) => {
  const here = await instance(t);
  await until('version() answers from memory', () => memoized(here));
  const queries = here.versionQueries();
  const v0 = await here.model.version();
  t.equal(await here.model.version(), v0);
  t.equal(here.versionQueries(), queries, 'no query while nothing changes');

  await here.model.applyEvents(nextUser(), 'p');
  const v1 = await here.model.version();
  t.not(v1, v0, 'applyEvents: changed when it returns');

  await inTransaction(here.pool, (client) => here.model.applyEventsWith(client, nextUser(), 'p'));
  const v2 = await here.model.version();
  t.not(v2, v1, 'applyEventsWith in a transaction of the caller: changed when the transaction ends');

  await inTransaction(here.pool, (client) => here.model.saveCheckpointWith(client, 'q', 5));
  const v3 = await here.model.version();
  t.not(v3, v2, 'saveCheckpointWith: changed');

  // A rolled-back change changes nothing, and leaves the memo valid.
  await t.rejects(
    inTransaction(here.pool, async (client) => {
      await here.model.applyEventsWith(client, nextUser(), 'p');
      throw new Error('rolled back');
    }),
  );
  t.equal(await here.model.version(), v3);

  // Replay's fresh model (same pool) swapped into live: the live model's memo is dropped at commit.
  const fresh = await getPostgresReadModel(here.pool, { suffix: '_swap' });
  await fresh.reset();
  await fresh.applyEvents(b.log, 'jit-users');
  const expected = await total(fresh);
  await inTransaction(here.pool, (client) => fresh.swapIntoLive(client));
  const v4 = await here.model.version();
  t.not(v4, v3, 'swapIntoLive: changed when its transaction ends');
  t.equal(await total(here.model), expected);

  await here.model.reset();
  t.not(await here.model.version(), v4, 'reset: changed');
  t.equal(await total(here.model), 0);
});

t.test('changes soon after another process commits a change', async (t) => {
  const here = await instance(t);
  const other = await instance(t);
  await until('version() answers from memory', () => memoized(here));

  const changes: [string, () => Promise<void>][] = [
    ['applyEvents', () => other.model.applyEvents(nextUser(), 'p')],
    ['applyEventsWith', () => inTransaction(other.pool, (client) => other.model.applyEventsWith(client, nextUser(), 'p'))],
    ['an empty batch that only moves a checkpoint', () => other.model.applyEvents([], 'kafka:users:0', users)],
    ['saveCheckpointWith', () => inTransaction(other.pool, (client) => other.model.saveCheckpointWith(client, 'q', users * 10))],
    [
      'swapIntoLive',
      async () => {
        const fresh = await getPostgresReadModel(other.pool, { suffix: '_other' });
        await fresh.reset();
        await fresh.applyEvents(b.log, 'jit-users');
        await inTransaction(other.pool, (client) => fresh.swapIntoLive(client));
      },
    ],
    ['reset', () => other.model.reset()],
  ];
  for (const [name, change] of changes) {
    const before = await here.model.version();
    t.ok(await memoized(here), `${name}: from memory before`);
    await change();
    await until(`${name} is seen`, async () => (await here.model.version()) !== before, 5_000);
    t.equal(await here.model.version(), await other.model.version(), `${name}: the same version as the writer`);
  }
  t.equal(await total(here.model), 0, 'the reset model is seen too');
});

t.test('queries every time while the LISTEN connection is down, and listens again later', async (t) => {
  const here = await instance(t, { relistenDelayMs: () => 1_500 });
  const other = await instance(t);
  await until('version() answers from memory', () => memoized(here));
  const [pid] = await listenerPids(other.pool);
  t.ok(pid, 'one LISTEN connection (created by the first version() call)');
  await other.pool.query('SELECT pg_terminate_backend($1)', [pid]);
  await until('the lost connection is noticed', async () => !(await memoized(here)), 1_000);

  // No notification can arrive now: every call must query.
  const before = await here.model.version();
  await other.model.applyEvents(nextUser(), 'p');
  t.not(await here.model.version(), before, 'a change of another process is seen at once');
  t.notOk(await memoized(here), 'still querying');

  await until('listening again', () => memoized(here));
  const pids = await listenerPids(other.pool);
  t.equal(pids.length, 1);
  t.not(pids[0], pid, 'a new LISTEN connection');
  const again = await here.model.version();
  await other.model.applyEvents(nextUser(), 'p');
  await until('a change of another process is seen', async () => (await here.model.version()) !== again, 5_000);
});

t.test('close() releases the LISTEN connection; version() still answers after it', async (t) => {
  const pool = createPgPool(database.url, { max: 2 });
  t.teardown(() => pool.end());
  const model = await getPostgresReadModel(pool);
  const probe = createPgPool(database.url, { max: 1 });
  t.teardown(() => probe.end());
  const before = (await listenerPids(probe)).length;
  await model.version();
  await until('listening', async () => (await listenerPids(probe)).length === before + 1);
  await model.close();
  await until('the LISTEN connection is gone', async () => (await listenerPids(probe)).length === before);
  t.equal(pool.totalCount - pool.idleCount, 0, 'no pool client is held');
  t.type(await model.version(), 'string');
});

t.test('models with a suffix never listen', async (t) => {
  const pool = createPgPool(database.url, { max: 2 });
  t.teardown(() => pool.end());
  const probe = createPgPool(database.url, { max: 1 });
  t.teardown(() => probe.end());
  const before = (await listenerPids(probe)).length;
  const fresh = await getPostgresReadModel(pool, { suffix: '_quiet' });
  await fresh.version();
  await fresh.version();
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.equal((await listenerPids(probe)).length, before);
  t.equal(pool.totalCount - pool.idleCount, 0);
  await fresh.close();
});
