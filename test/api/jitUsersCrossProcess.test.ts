/**
 * GET /jit-users on PostgreSQL, where the read model is written by another process (the
 * projections service, jit replay): the rendered-page cache is keyed by the model's version, which
 * this process keeps in memory while it listens for changes. Once another process's change has
 * been notified, no request may be answered from a stale page.
 */
import t from 'tap';
import type { JitUser } from '../../schemas/types.gen.js';
import { getPostgresReadModel, READ_MODEL_CHANNEL } from '../../services/projections/postgresReadModel.js';
import { logBuilder } from '../../services/projections/readModelContract.js';
import { createPgPool, inTransaction } from '../../services/shared/postgres/database.js';
import { createTestDatabase } from '../support/postgres.js';
import { admin } from '../support/testRuntime.js';
import { AUTHCONFIG, startApi } from './fixtures/api.js';

const LIST = `${AUTHCONFIG}/jit-users`;

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

t.test('pages never come from a stale cache after another process changed the read model', async (t) => {
  const database = await createTestDatabase('jit_users_cross_process');
  t.teardown(database.drop);
  // This process only serves the API; "another process" (its own pool) projects.
  const api = await startApi(t, { JIT_DATABASE_URL: database.url, JIT_SERVICES: 'api' });
  const pool = createPgPool(database.url, { max: 2 });
  const writer = await getPostgresReadModel(pool);
  t.teardown(async () => {
    await writer.close();
    await pool.end();
  });
  const b = logBuilder();
  const list = async (query = '') => {
    const res = await api.get(`${LIST}${query}`);
    t.equal(res.statusCode, 200);
    return { names: res.json<JitUser[]>().map((u) => u.username), total: Number(res.headers['x-total-count']) };
  };

  b.provision('alice');
  await writer.applyEvents(b.log, 'jit-users');
  t.same(await list(), { names: ['alice'], total: 1 });
  const listening = async () => {
    const { rows } = await pool.query('SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND query = $1', [`LISTEN ${READ_MODEL_CHANNEL}`]);
    return rows.length === 1;
  };
  await until('the API process listens', listening);

  const expected = ['alice'];
  for (const name of ['bob', 'carol', 'dave', 'erin', 'frank']) {
    const before = await api.runtime.readModel.version();
    // Cached at the current version, in two variants (JSON, CSV).
    t.same((await list()).names, expected);
    t.equal((await api.get(LIST, { ...admin, accept: 'text/csv' })).statusCode, 200);
    const change = b.log.length;
    b.provision(name);
    if (name === 'dave') await inTransaction(pool, (client) => writer.applyEventsWith(client, b.log.slice(change), 'jit-users'));
    else await writer.applyEvents(b.log.slice(change), 'jit-users');
    expected.push(name);
    await until(`the change adding ${name} is notified`, async () => (await api.runtime.readModel.version()) !== before, 5_000);
    t.same(await list(), { names: expected, total: expected.length }, `${name} is listed`);
    t.same(await list('?limit=2'), { names: expected.slice(0, 2), total: expected.length });
    const csv = await api.get(LIST, { ...admin, accept: 'text/csv' });
    t.match(csv.body, new RegExp(`^${name},`, 'm'), `${name} is in the CSV`);
  }

  // A replay in another process swaps new tables in: a rebuilt model without the last user.
  const fresh = await getPostgresReadModel(pool, { suffix: '_replay' });
  await fresh.reset();
  await fresh.applyEvents(b.log.slice(0, -1), 'jit-users');
  const before = await api.runtime.readModel.version();
  await inTransaction(pool, (client) => fresh.swapIntoLive(client));
  await until('the swap is notified', async () => (await api.runtime.readModel.version()) !== before, 5_000);
  t.same(await list(), { names: expected.slice(0, -1), total: expected.length - 1 });
});
