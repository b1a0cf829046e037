/** Administrator actions: deactivate, reactivate, grant and revoke a group; their effect on lists and later logins. */
import t, { type Test } from 'tap';
import { samlIdp, samlLogin } from '../support/fixtures.js';
import { admin } from '../support/testRuntime.js';
import { AUTHCONFIG, startApi, testClock, type Api } from './fixtures/api.js';

const USERS = `${AUTHCONFIG}/jit-users`;

type Membership = { name: string; 'granted-by': { type: string; 'idp-id'?: string }[] };

async function detail(api: Api, username: string) {
  const res = await api.get(`${USERS}/${username}`);
  return res.json<{ active: boolean; 'deactivated-at'?: string; groups: Membership[] }>();
}

const groupNames = (user: { groups: Membership[] }) => user.groups.map((g) => g.name);

/** An admin action that must succeed without writing anything. */
async function noOp(t: Test, api: Api, request: () => ReturnType<Api['post']>) {
  const before = await api.head();
  const res = await request();
  t.equal(res.statusCode, 200, res.body);
  t.equal(await api.head(), before, 'nothing to change, nothing written');
  return res.json();
}

t.test('deactivate and reactivate', async (t) => {
  const clock = testClock();
  const api = await startApi(t, {}, { now: clock.now });
  await api.createIdp(samlIdp());
  await api.loginOk(samlLogin('alice'));
  clock.advance(1000);

  const off = await api.post(`${USERS}/ALICE/deactivate`, { comment: 'left the company' });
  t.equal(off.statusCode, 200, off.body);
  t.match(off.json(), { username: 'alice', active: false, 'deactivated-at': clock.iso() });
  t.same((await api.get(`${USERS}?active=false`)).json().map((u: { username: string }) => u.username), ['alice'], 'the list shows it at once');
  const [event] = await api.events('UserDeactivated');
  t.match(event!.data, { reason: 'admin', comment: 'left the company' });
  t.match(event!.metadata.actor, /^admin:/);

  const refused = await api.login(samlLogin('alice'));
  t.equal(refused.statusCode, 403);
  t.equal(refused.json().reason, 'user-deactivated');

  await noOp(t, api, () => api.post(`${USERS}/alice/deactivate`, {}));

  const on = await api.post(`${USERS}/alice/reactivate`, {});
  t.equal(on.statusCode, 200);
  t.equal(on.json().active, true);
  t.notOk('deactivated-at' in on.json());
  t.equal((await detail(api, 'alice')).active, true);
  await noOp(t, api, () => api.post(`${USERS}/alice/reactivate`, { comment: 'again' }));
  const login = await api.login(samlLogin('alice'));
  t.equal(login.statusCode, 200, 'a reactivated user logs in again');
  t.same((await api.events()).filter((e) => e.streamId.startsWith('user-')).map((e) => e.type), [
    'UserProvisioned',
    'UserLoggedIn',
    'UserDeactivated',
    'LoginRejected',
    'UserReactivated',
    'UserLoggedIn',
  ]);
});

t.test('deactivate and reactivate need no body', async (t) => {
  const api = await startApi(t);
  await api.createIdp(samlIdp());
  await api.loginOk(samlLogin('alice'));
  const off = await api.app.inject({ method: 'POST', url: `${USERS}/alice/deactivate`, headers: admin });
  t.equal(off.statusCode, 200, off.body);
  t.equal(off.json().active, false);
  const on = await api.app.inject({ method: 'POST', url: `${USERS}/alice/reactivate`, headers: admin });
  t.equal(on.statusCode, 200, on.body);
  t.equal(on.json().active, true);
});

t.test('grant a group: provenance admin, visible in detail and list', async (t) => {
  const api = await startApi(t);
  await api.createIdp(samlIdp());
  await api.loginOk(samlLogin('alice', { groups: ['jira-users'] }));
  const res = await api.put(`${USERS}/alice/groups/Ops`);
  t.equal(res.statusCode, 200, res.body);
  t.same(groupNames(res.json()), ['jira-users', 'Ops']);
  t.match(res.json().groups[1], { name: 'Ops', 'granted-by': [{ type: 'admin' }] });
  t.same((await api.get(`${USERS}?group=ops`)).json().map((u: { username: string }) => u.username), ['alice']);
  await noOp(t, api, () => api.put(`${USERS}/alice/groups/OPS`));

  const both = await api.put(`${USERS}/alice/groups/JIRA-USERS`);
  t.match(both.json().groups[0], { name: 'jira-users', 'granted-by': [{ type: 'idp', 'idp-id': 'okta' }, { type: 'admin' }] }, 'a second source keeps the first spelling');

  const slash = await api.put(`${USERS}/alice/groups/${encodeURIComponent('team/a b')}`);
  t.equal(slash.statusCode, 200);
  t.ok(groupNames(slash.json()).includes('team/a b'));
});

t.test('revoke a group whoever granted it; a later login may grant it again', async (t) => {
  const api = await startApi(t);
  await api.createIdp(samlIdp());
  await api.loginOk(samlLogin('alice', { groups: ['jira-users', 'ops'] }));
  await api.put(`${USERS}/alice/groups/ops`);
  const res = await api.del(`${USERS}/alice/groups/OPS`);
  t.equal(res.statusCode, 200, res.body);
  t.same(groupNames(res.json()), ['jira-users'], 'both the IdP and the admin grant end');
  const updated = (await api.events('UserUpdated')).at(-1)!;
  t.match(updated.data, { 'groups-removed': ['ops'], revocations: [{ group: 'ops', source: { type: 'idp' } }, { group: 'ops', source: { type: 'admin' } }] });
  await noOp(t, api, () => api.del(`${USERS}/alice/groups/never-had`));

  const login = await api.login(samlLogin('alice', { groups: ['jira-users', 'ops'] }));
  t.equal(login.json().outcome, 'updated');
  t.same(login.json().user.groups, ['jira-users', 'ops']);
});

t.test('group-sync decides what a later login does to admin grants', async (t) => {
  const api = await startApi(t);
  await api.createIdp(samlIdp());
  await api.createIdp(samlIdp({ id: 'managed', name: 'Managed', 'username-attribute': '${uid}' }, { 'group-sync': 'managed' }));
  await api.loginOk(samlLogin('alice', { groups: ['jira-users'] }));
  await api.loginOk(samlLogin('m-bob', { uid: ['bob'], groups: ['jira-users'] }, { idpId: 'managed' }));
  for (const user of ['alice', 'bob']) t.equal((await api.put(`${USERS}/${user}/groups/admins`)).statusCode, 200);

  await api.loginOk(samlLogin('alice', { groups: ['jira-users'] }));
  t.same(groupNames(await detail(api, 'alice')), ['jira-users'], 'replace: the user leaves every group the IdP did not send');
  await api.loginOk(samlLogin('m-bob', { uid: ['bob'], groups: [] }, { idpId: 'managed' }));
  t.same(groupNames(await detail(api, 'bob')), ['admins'], 'managed: admin grants stay, the IdP\'s own end');
});

t.test('unknown users and bad group names change nothing', async (t) => {
  const api = await startApi(t);
  await api.createIdp(samlIdp());
  await api.loginOk(samlLogin('alice'));
  const before = await api.head();
  for (const [method, path] of [
    ['POST', 'nobody/deactivate'],
    ['POST', 'nobody/reactivate'],
    ['PUT', 'nobody/groups/ops'],
    ['DELETE', 'nobody/groups/ops'],
  ] as const) {
    const res = await api.app.inject({ method, url: `${USERS}/${path}`, headers: admin, ...(method === 'POST' ? { payload: {} } : {}) });
    t.equal(res.statusCode, 404, `${method} ${path}`);
    t.same(res.json(), { error: 'user-not-found', message: 'No JIT user named nobody' });
  }
  const blank = await api.put(`${USERS}/alice/groups/%20%20`);
  t.equal(blank.statusCode, 400, blank.body);
  t.equal(blank.json().error, 'invalid-request');
  const long = await api.put(`${USERS}/alice/groups/${'g'.repeat(256)}`);
  t.equal(long.statusCode, 400);
  const tooLongComment = await api.post(`${USERS}/alice/deactivate`, { comment: 'x'.repeat(1025) });
  t.equal(tooLongComment.statusCode, 400);
  t.equal(tooLongComment.json().error, 'invalid-request');
  const unknownField = await api.post(`${USERS}/alice/deactivate`, { reason: 'inactive' });
  t.equal(unknownField.statusCode, 400);
  t.equal(await api.head(), before);
  t.equal((await detail(api, 'alice')).active, true);
});
