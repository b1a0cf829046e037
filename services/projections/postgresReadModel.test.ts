import t from 'tap';
import { createTestDatabase } from '../../test/support/postgres.js';
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
