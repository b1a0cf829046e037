import t from 'tap';
import { createTestDatabase, planWithoutSeqScans, recordStatements } from '../../test/support/postgres.js';
import { createPgPool } from '../shared/postgres/database.js';
import { logBuilder, testReadModelContract } from './readModelContract.js';
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

t.test('postgres: a batch rewrites a user\'s group and identity rows only when they changed', async (t) => {
  const pool = createPgPool(database.url);
  t.teardown(() => pool.end());
  const model = await getPostgresReadModel(pool, { suffix: '_rewrites' });
  const b = logBuilder();
  const alice = b.provision('alice', { groups: ['a', 'b'] });
  await model.applyEvents(b.log, 'p');
  // xmin: the transaction that wrote the row version; a rewrite gives every row a new one.
  const versions = async () => {
    const { rows } = await pool.query<{ t: string; v: string }>(
      `SELECT 'g' AS t, xmin::text AS v FROM jit_user_groups_rewrites UNION ALL SELECT 'i', xmin::text FROM jit_user_identities_rewrites ORDER BY 1, 2`,
    );
    return rows.map((r) => `${r.t}${r.v}`);
  };
  const initial = await versions();
  t.equal(initial.length, 3, 'two group rows and one identity row');
  b.add(alice, { type: 'UserLoggedIn', data: { 'user-id': alice, 'idp-id': 'okta', subject: 's', protocol: 'saml', 'login-id': 'l1', 'authenticated-at': '2026-02-01T10:00:00Z' } });
  b.add(alice, { type: 'UserUpdated', data: { 'user-id': alice, 'idp-id': 'okta', changes: { email: { from: 'alice@example.com', to: 'a2@example.com' } }, 'groups-added': [], 'groups-removed': [], grants: [], revocations: [] } });
  await model.applyEvents(b.log.slice(-2), 'p');
  t.same(await versions(), initial, 'a login and an email change leave the group and identity rows alone');
  t.equal((await model.findUser('alice'))?.email, 'a2@example.com');
  b.add(alice, { type: 'UserUpdated', data: { 'user-id': alice, 'idp-id': 'okta', changes: {}, 'groups-added': ['c'], 'groups-removed': [], grants: [{ group: 'c', source: { type: 'idp', 'idp-id': 'okta' } }], revocations: [] } });
  await model.applyEvents(b.log.slice(-1), 'p');
  const regrouped = await versions();
  t.equal(regrouped.filter((v) => v.startsWith('g')).length, 3, 'three group rows');
  t.notOk(regrouped.some((v) => v.startsWith('g') && initial.includes(v)), 'all group rows rewritten');
  t.same(regrouped.filter((v) => v.startsWith('i')), initial.filter((v) => v.startsWith('i')), 'the identity row left alone');
});
