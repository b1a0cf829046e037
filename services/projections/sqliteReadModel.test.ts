import t from 'tap';
import { openSqliteDatabase } from '../shared/sqlite/database.js';
import { foldUser } from '../provisioning/user/userState.js';
import type { EvolvableUserEvent, ProvisionedUser } from '../provisioning/user/userState.js';
import { LIVE_PROJECTION } from './readModel.js';
import { logBuilder, testReadModelContract } from './readModelContract.js';
import { getSqliteReadModel } from './sqliteReadModel.js';

testReadModelContract(t, 'sqlite', async () => {
  const db = openSqliteDatabase(':memory:');
  return { model: getSqliteReadModel(db), cleanup: async () => void db.close() };
});

testReadModelContract(t, 'sqlite (suffixed tables)', async () => {
  const db = openSqliteDatabase(':memory:');
  return { model: getSqliteReadModel(db, { suffix: '_replay' }), cleanup: async () => void db.close() };
});

t.test('the state column: what the other columns do not hold; whole states (older rows) read as before', async (t) => {
  const db = openSqliteDatabase(':memory:');
  t.teardown(() => db.close());
  const model = getSqliteReadModel(db);
  const b = logBuilder();
  const alice = b.provision('alice', { groups: ['staff', '__proto__'] });
  b.add(alice, { type: 'UserLoggedIn', data: { 'user-id': alice, 'idp-id': 'okta', subject: 's', protocol: 'oidc', 'login-id': 'l', 'authenticated-at': '2026-02-01T10:00:00Z' } });
  b.add(alice, { type: 'UserDeactivated', data: { 'user-id': alice, reason: 'admin' } });
  const bob = b.provision('bob');
  await model.applyEvents(b.log, LIVE_PROJECTION);
  const expected = (userId: string) => JSON.parse(JSON.stringify(foldUser(b.log.filter((e) => e.streamId === `user-${userId}`) as unknown as EvolvableUserEvent[]))) as unknown;
  const stored = (userId: string) => JSON.parse(db.prepare<[string], { state: string }>('SELECT state FROM jit_users WHERE user_id = ?').get(userId)!.state) as Record<string, unknown>;

  t.same(Object.keys(stored(alice)), ['identities', 'groups', 'lastLoginAt'], 'identities, groups and the login time as the event gave it');
  t.same(Object.keys(stored(bob)), ['identities', 'groups'], 'no login yet');
  for (const userId of [alice, bob]) {
    t.equal(JSON.stringify(await model.findUser(userId)), JSON.stringify(expected(userId)), 'findUser gives the folded state, keys in the same order');
    t.equal(JSON.stringify(model.loadUser(userId)?.state), JSON.stringify(expected(userId)), 'and so does loadUser');
  }
  t.equal((await model.findUser(alice))?.lastLoginAt, '2026-02-01T10:00:00Z', 'lastLoginAt as the event gave it, not the normalized column');

  // A row written before: the whole state in the column.
  db.prepare('UPDATE jit_users SET state = ? WHERE user_id = ?').run(JSON.stringify(expected(alice)), alice);
  t.equal(JSON.stringify(await model.findUser(alice)), JSON.stringify(expected(alice)), 'a whole state is read as it is');
  b.add(alice, { type: 'UserReactivated', data: { 'user-id': alice } });
  await model.applyEvents(b.log.slice(-1), LIVE_PROJECTION);
  t.equal(JSON.stringify(await model.findUser(alice)), JSON.stringify(expected(alice)), 'and projected onward');
  t.same(Object.keys(stored(alice)), ['identities', 'groups', 'lastLoginAt'], 'then stored in the lean form');

  // A state whose user id is not its row's (never written by the service) is kept whole.
  const fresh = getSqliteReadModel(db, { suffix: '_other' });
  const state = expected(bob) as ProvisionedUser;
  fresh.saveUsers(new Map([['someone-else', { state, position: 1 }]]), LIVE_PROJECTION, 1);
  t.equal(JSON.stringify(fresh.loadUser('someone-else')?.state), JSON.stringify(state), 'kept whole, read back whole');
});

t.test('a batch rewrites a user\'s group and identity rows only when they changed', async (t) => {
  const db = openSqliteDatabase(':memory:');
  t.teardown(() => db.close());
  const model = getSqliteReadModel(db);
  const b = logBuilder();
  const alice = b.provision('alice', { groups: ['a', 'b'] });
  await model.applyEvents(b.log, LIVE_PROJECTION);
  // Temporary triggers count every row written to the two tables from here on.
  db.exec(`CREATE TEMP TABLE writes (tbl TEXT);
    CREATE TEMP TRIGGER g_ins AFTER INSERT ON main.jit_user_groups BEGIN INSERT INTO writes VALUES ('groups'); END;
    CREATE TEMP TRIGGER g_del AFTER DELETE ON main.jit_user_groups BEGIN INSERT INTO writes VALUES ('groups'); END;
    CREATE TEMP TRIGGER i_ins AFTER INSERT ON main.jit_user_identities BEGIN INSERT INTO writes VALUES ('identities'); END;
    CREATE TEMP TRIGGER i_del AFTER DELETE ON main.jit_user_identities BEGIN INSERT INTO writes VALUES ('identities'); END;`);
  const writes = () => db.prepare<[], { tbl: string; n: number }>('SELECT tbl, count(*) AS n FROM writes GROUP BY tbl ORDER BY tbl').all().map((r) => `${r.tbl} ${r.n}`);
  b.add(alice, { type: 'UserLoggedIn', data: { 'user-id': alice, 'idp-id': 'okta', subject: 's', protocol: 'saml', 'login-id': 'l1', 'authenticated-at': '2026-02-01T10:00:00Z' } });
  b.add(alice, { type: 'UserUpdated', data: { 'user-id': alice, 'idp-id': 'okta', changes: { email: { from: 'alice@example.com', to: 'a2@example.com' } }, 'groups-added': [], 'groups-removed': [], grants: [], revocations: [] } });
  await model.applyEvents(b.log.slice(-2), LIVE_PROJECTION);
  t.same(writes(), [], 'a login and an email change leave the group and identity rows alone');
  t.equal((await model.findUser('alice'))?.email, 'a2@example.com');
  b.add(alice, { type: 'UserUpdated', data: { 'user-id': alice, 'idp-id': 'okta', changes: {}, 'groups-added': ['c'], 'groups-removed': [], grants: [{ group: 'c', source: { type: 'idp', 'idp-id': 'okta' } }], revocations: [] } });
  await model.applyEvents(b.log.slice(-1), LIVE_PROJECTION);
  t.same(writes(), ['groups 5'], 'a group change deletes the two rows and writes three; identities untouched');
});
