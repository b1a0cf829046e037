import t from 'tap';
import { createTestDatabase, planWithoutSeqScans, recordStatements } from '../../test/support/postgres.js';
import { createPgPool } from '../shared/postgres/database.js';
import { testReadModelContract } from './readModelContract.js';
import { getPostgresReadModel } from './postgresReadModel.js';

const database = await createTestDatabase('read_model');
t.teardown(database.drop);

let n = 0;
testReadModelContract(t, 'postgres', async () => {
  const pool = createPgPool(database.url);
  const model = await getPostgresReadModel(pool, { suffix: `_case${++n}` });
  return { model, cleanup: () => pool.end() };
});

t.test('postgres: migrations create the live tables once', async (t) => {
  const pool = createPgPool(database.url);
  t.teardown(() => pool.end());
  await Promise.all([getPostgresReadModel(pool), getPostgresReadModel(pool), getPostgresReadModel(pool)]);
  const { rows } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM jit_schema_migrations WHERE name = 'read-model-1'");
  t.equal(rows[0]?.n, 1);
});

t.test('postgres: findUser looks a user up by index (username key or user id), never by a scan of the users table', async (t) => {
  const pool = createPgPool(database.url);
  t.teardown(() => pool.end());
  const model = await getPostgresReadModel(pool, { suffix: '_plans' });
  const seen = recordStatements(pool);
  for (const lookup of ['Alice', '0b7a4c4e-3f5d-4e8a-9c61-6a2f3d9b1e07', '0B7A4C4E-3F5D-4E8A-9C61-6A2F3D9B1E07']) {
    seen.length = 0;
    t.equal(await model.findUser(lookup), undefined, `${lookup} is nobody yet`);
    t.equal(seen.length, 1, 'one statement');
    const plan = (await planWithoutSeqScans(pool, seen[0]!)).json;
    t.notMatch(plan, /"Seq Scan"/, `no sequential scan for ${lookup}`);
    t.match(plan, /jit_users_plans_by_key/, 'the username key index');
    if (lookup.includes('-')) t.match(plan, /jit_users_plans_pkey/, 'the primary key');
  }
});
