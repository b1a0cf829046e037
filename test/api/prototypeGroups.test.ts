/**
 * Group names that are also members of Object.prototype ("constructor", "toString", "__proto__", …)
 * are ordinary group names: logins with them provision, update and leave unchanged; administrators
 * grant and revoke them; lists filter by them; nothing answers 5xx and no prototype changes.
 */
import t from 'tap';
import { samlLogin } from '../support/fixtures.js';
import { AUTHCONFIG, startApi, withDefaultIdps } from './fixtures/api.js';

const USERS = `${AUTHCONFIG}/jit-users`;
const PROTO_NAMES = ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', '__defineGetter__', 'propertyIsEnumerable'];
const sorted = (names: readonly string[]) => [...names].sort((a, b) => a.localeCompare(b, 'en'));

type Detail = { username: string; groups: { name: string; 'granted-by': { type: string; 'idp-id'?: string }[] }[] };

t.test('logins whose groups are named like Object.prototype members', async (t) => {
  const api = await withApi(t);
  const first = await api.login(samlLogin('alice', { groups: ['jira-users', ...PROTO_NAMES] }));
  t.equal(first.statusCode, 200, first.body);
  t.equal(first.json().outcome, 'provisioned');
  t.same(first.json().user.groups, sorted(['jira-users', ...PROTO_NAMES]));
  const provisioned = await api.events('UserProvisioned');
  t.same(sorted((provisioned[0]?.data as Record<string, string[]>)['groups'] ?? []), sorted(['jira-users', ...PROTO_NAMES]), 'the event lists every group');
  await api.settled();

  const detail = (await api.get(`${USERS}/alice`)).json<Detail>();
  t.same(detail.groups.map((g) => g.name), sorted(['jira-users', ...PROTO_NAMES]));
  for (const g of detail.groups) t.match(g['granted-by'], [{ type: 'idp', 'idp-id': 'okta' }], `${g.name} granted by the IdP`);

  const same = await api.login(samlLogin('alice', { groups: ['jira-users', ...PROTO_NAMES] }));
  t.equal(same.json().outcome, 'unchanged', 'the same groups again change nothing');

  // Case-insensitive keys: "CONSTRUCTOR" is the membership "constructor", not a new one.
  const upper = await api.login(samlLogin('alice', { groups: ['jira-users', ...PROTO_NAMES.map((n) => n.toUpperCase())] }));
  t.equal(upper.json().outcome, 'unchanged', 'case-only differences are the same groups');

  const changed = await api.login(samlLogin('alice', { groups: ['jira-users', 'toString', '__proto__', '__lookupSetter__'] }));
  t.equal(changed.statusCode, 200, changed.body);
  t.equal(changed.json().outcome, 'updated');
  const updated = (await api.events('UserUpdated')).at(-1)?.data as Record<string, string[]> | undefined;
  t.same(updated?.['groups-added'], ['__lookupSetter__']);
  t.same(sorted(updated?.['groups-removed'] ?? []), sorted(PROTO_NAMES.filter((n) => n !== 'toString' && n !== '__proto__')));
  t.same(changed.json().user.groups, sorted(['jira-users', 'toString', '__proto__', '__lookupSetter__']));

  t.equal(({} as Record<string, unknown>)['polluted'], undefined);
  t.equal(Object.getPrototypeOf({}), Object.prototype, 'Object.prototype is untouched');
  t.equal(typeof {}.toString, 'function');
});

t.test('administrators grant and revoke groups named like prototype members', async (t) => {
  const api = await withApi(t);
  await api.loginOk(samlLogin('alice', { groups: ['jira-users', 'toString'] }));

  for (const name of ['constructor', '__proto__', 'valueOf']) {
    const res = await api.put(`${USERS}/alice/groups/${encodeURIComponent(name)}`);
    t.equal(res.statusCode, 200, `grant ${name}: ${res.body}`);
    t.ok(
      res.json<Detail>().groups.some((g) => g.name === name && g['granted-by'].some((s) => s.type === 'admin')),
      `${name} granted by an administrator`,
    );
  }
  const both = await api.put(`${USERS}/alice/groups/TOSTRING`);
  t.match(both.json<Detail>().groups.find((g) => g.name === 'toString')?.['granted-by'], [{ type: 'idp', 'idp-id': 'okta' }, { type: 'admin' }]);

  const head = await api.head();
  const again = await api.put(`${USERS}/alice/groups/__PROTO__`);
  t.equal(again.statusCode, 200);
  t.equal(await api.head(), head, 'granting an admin membership twice writes nothing');

  const revoke = await api.del(`${USERS}/alice/groups/__proto__`);
  t.equal(revoke.statusCode, 200, revoke.body);
  t.notOk(revoke.json<Detail>().groups.some((g) => g.name === '__proto__'), '__proto__ revoked');
  const none = await api.del(`${USERS}/alice/groups/hasOwnProperty`);
  t.equal(none.statusCode, 200, 'revoking a membership the user never had is a no-op');
  t.equal(await api.head(), head + 1, 'only the real revocation was written');
  await api.settled();

  const list = await api.get(`${USERS}?group=constructor&expand=groups`);
  t.equal(list.statusCode, 200, list.body);
  t.same(list.json().map((u: { username: string }) => u.username), ['alice']);
  t.same(list.json()[0].groups, ['constructor', 'jira-users', 'toString', 'valueOf']);
  const noOne = await api.get(`${USERS}?group=__proto__`);
  t.same(noOne.json(), [], 'nobody is in the revoked group');
  const history = await api.get(`${USERS}/alice/history`);
  t.equal(history.statusCode, 200, history.body);

  const login = await api.login(samlLogin('alice', { groups: ['jira-users'] }));
  t.equal(login.statusCode, 200, login.body);
  t.same(login.json().user.groups, ['jira-users'], 'replace sync: the user leaves every group this login did not send, whoever granted it');
});

t.test('dry run and mapping tester with prototype-named groups', async (t) => {
  const api = await withApi(t);
  await api.loginOk(samlLogin('alice', { groups: ['constructor'] }));
  const res = await api.post(`${AUTHCONFIG}/idps/okta/jit-test`, {
    'name-id': 'alice',
    attributes: { displayName: ['alice Display'], email: ['alice@example.com'], groups: ['__proto__', 'toString'] },
  });
  t.equal(res.statusCode, 200, res.body);
  t.match(res.body, /__proto__/);
  t.match(res.body, /toString/);
});

async function withApi(t: Parameters<typeof startApi>[0]) {
  const api = await startApi(t);
  await withDefaultIdps(api);
  return api;
}

t.test('group spellings that meet only after a second normalization are one group, end to end', async (t) => {
  const api = await withApi(t);
  // "H\u0331" lower-cases to "h\u0331", which NFKC composes to "ẖ": all three are one group.
  const res = await api.login(samlLogin('alice', { groups: ['H\u0331', 'h\u0331', '\u1e96', 'jira-users'] }));
  t.equal(res.statusCode, 200, res.body);
  t.same(res.json().user.groups, ['H\u0331', 'jira-users'], 'one membership, first spelling kept');
  await api.put(`${USERS}/alice/groups/${encodeURIComponent('\u1e96')}`);
  await api.settled();
  const list = await api.get(`${USERS}?group=${encodeURIComponent('h\u0331')}&expand=groups`);
  t.equal(list.statusCode, 200, list.body);
  t.same(list.json().map((u: { groups: string[] }) => [...u.groups].sort()), [['H\u0331', 'jira-users'].sort()], 'projected without a duplicate key');
  const detail = (await api.get(`${USERS}/alice`)).json<Detail>();
  t.match(detail.groups.find((g) => g.name === 'H\u0331')?.['granted-by'], [{ type: 'idp' }, { type: 'admin' }]);
  const again = await api.login(samlLogin('alice', { groups: ['\u1e96', 'JIRA-USERS'] }));
  t.equal(again.json().outcome, 'unchanged');
});
