/** POST /rest/jit/1.0/logins: outcomes, rejections, idempotency, concurrency, linking, refusals. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { LoginSucceeded } from '../../schemas/types.gen.js';
import { provisionOnLogin } from '../../services/provisioning/login/provisionOnLogin.js';
import { userIdOf } from '../../services/shared/ids.js';
import { oidcIdp, oidcLogin, samlIdp, samlLogin } from '../support/fixtures.js';
import { admin } from '../support/testRuntime.js';
import { AUTHCONFIG, LOGINS, startApi, withDefaultIdps, type Api } from './fixtures/api.js';

const USERS = `${AUTHCONFIG}/jit-users`;

async function countOf(api: Api, type: string): Promise<number> {
  return (await api.events(type)).length;
}

/** A login that must be refused before anything is decided: a 4xx and no event. */
async function refusedBeforeDeciding(t: Test, api: Api, body: unknown, status: number, error: string) {
  const before = await api.head();
  const res = await api.post(LOGINS, body, { authorization: 'Bearer gateway-token-0123456789abcdef' });
  t.equal(res.statusCode, status, res.body);
  t.equal(res.json().error, error);
  t.type(res.json().message, 'string');
  t.equal(await api.head(), before, 'nothing was written');
  return res.json();
}

/** A login the decider rejects: 403 with the reason, one LoginRejected for the audit trail, no user change. */
async function rejected(t: Test, api: Api, login: LoginSucceeded, reason: string) {
  const rejections = await countOf(api, 'LoginRejected');
  const users = (await api.get(`${USERS}?expand=groups`)).body;
  const res = await api.login(login);
  t.equal(res.statusCode, 403, res.body);
  t.equal(res.json().error, 'login-rejected');
  t.equal(res.json().reason, reason);
  t.type(res.json().message, 'string');
  t.equal(await countOf(api, 'LoginRejected'), rejections + 1, 'the rejection is recorded');
  await api.settled();
  t.equal((await api.get(`${USERS}?expand=groups`)).body, users, 'no user changed');
  return res.json();
}

t.test('provisioned, updated, unchanged', async (t) => {
  const api = await startApi(t);
  await withDefaultIdps(api);
  const first = await api.login(samlLogin('alice', { groups: ['jira-users', 'Confluence-Users'] }));
  t.equal(first.statusCode, 200, first.body);
  t.strictSame(first.json(), {
    outcome: 'provisioned',
    user: {
      'user-id': userIdOf('okta', 'alice'),
      username: 'alice',
      'display-name': 'alice Display',
      email: 'alice@example.com',
      groups: ['Confluence-Users', 'jira-users'],
      active: true,
    },
  });
  t.same((await api.events()).filter((e) => e.streamId.startsWith('user-')).map((e) => e.type), ['UserProvisioned', 'UserLoggedIn']);

  const again = await api.login(samlLogin('alice', { groups: ['jira-users', 'Confluence-Users'] }));
  t.equal(again.statusCode, 200);
  t.equal(again.json().outcome, 'unchanged');
  t.same(again.json().user, first.json().user);

  const changed = await api.login(samlLogin('alice', { displayName: ['Alice Liddell'], groups: ['jira-users'] }));
  t.equal(changed.json().outcome, 'updated');
  t.match(changed.json().user, { 'display-name': 'Alice Liddell', groups: ['jira-users'] });
  const updated = await api.events('UserUpdated');
  t.match(updated.at(-1)!.data, { changes: { 'display-name': { from: 'alice Display', to: 'Alice Liddell' } }, 'groups-removed': ['Confluence-Users'] });
  await api.settled();
  const detail = (await api.get(`${USERS}/alice`)).json();
  t.equal(detail['display-name'], 'Alice Liddell', 'the read model follows');

  const oidc = await api.post('/rest/jit/latest/logins', oidcLogin('sub-1', { preferred_username: 'bob' }), { authorization: 'Bearer gateway-token-0123456789abcdef' });
  t.equal(oidc.statusCode, 200, '/rest/jit/latest is an alias');
  t.match(oidc.json(), { outcome: 'provisioned', user: { username: 'bob', 'user-id': userIdOf('entra', 'sub-1'), groups: ['staff'] } });
});

t.test('a case-only rename is an update', async (t) => {
  const api = await startApi(t);
  await api.createIdp(samlIdp({ 'username-attribute': '${uid}' }));
  await api.loginOk(samlLogin('s-1', { uid: ['alice'] }));
  const renamed = await api.login(samlLogin('s-1', { uid: ['Alice'] }));
  t.equal(renamed.json().outcome, 'updated');
  t.equal(renamed.json().user.username, 'Alice');
  t.match((await api.events('UserUpdated'))[0]!.data, { changes: { username: { from: 'alice', to: 'Alice' } } });
  await api.settled();
  t.same((await api.get(USERS)).json().map((u: { username: string }) => u.username), ['Alice']);
});

t.test('a rename frees the old username for someone else', async (t) => {
  const api = await startApi(t);
  await api.createIdp(samlIdp({ 'username-attribute': '${uid}' }));
  await api.loginOk(samlLogin('s-1', { uid: ['alice'] }));
  const renamed = await api.login(samlLogin('s-1', { uid: ['alicia'] }));
  t.equal(renamed.json().outcome, 'updated');
  await api.settled();
  t.equal((await api.get(`${USERS}/alice`)).statusCode, 404, 'the old name is gone');
  t.equal((await api.get(`${USERS}/alicia`)).json()['user-id'], userIdOf('okta', 's-1'));
  const newcomer = await api.login(samlLogin('s-2', { uid: ['alice'] }));
  t.equal(newcomer.statusCode, 200, newcomer.body);
  t.equal(newcomer.json().outcome, 'provisioned');
  const taken = await api.login(samlLogin('s-3', { uid: ['ALICIA'] }));
  t.equal(taken.json().reason, 'username-conflict', 'the new name is taken');
});

t.test('a login that arrives late does not move last-login-at back', async (t) => {
  const api = await startApi(t);
  await api.createIdp(samlIdp());
  const now = Date.now();
  await api.loginOk(samlLogin('alice', {}, { authenticatedAt: new Date(now).toISOString() }));
  await api.loginOk(samlLogin('alice', {}, { authenticatedAt: new Date(now - 3_600_000).toISOString() }));
  t.equal((await api.get(`${USERS}/alice`)).json()['last-login-at'], new Date(now).toISOString());
});

t.test('403 login-rejected, one reason after another', async (t) => {
  const api = await startApi(t);
  await withDefaultIdps(api);
  await api.createIdp(samlIdp({ id: 'noprov', name: 'No provisioning' }, { 'user-provisioning-enabled': false }));
  await api.createIdp(samlIdp({ id: 'other', name: 'Other SAML', 'username-attribute': '${uid}' }));

  t.test('provisioning-disabled', async (t) => {
    const body = await rejected(t, api, samlLogin('newbie', {}, { idpId: 'noprov' }), 'provisioning-disabled');
    t.match(body.message, /noprov/);
  });
  t.test('mapping-error: a missing attribute', async (t) => {
    const login = samlLogin('nomail');
    delete login.attributes!['email'];
    const body = await rejected(t, api, login, 'mapping-error');
    t.match(body.problems, [{ code: 'attribute-missing', field: 'email' }]);
  });
  t.test('mapping-error: a claim of the wrong type', async (t) => {
    const body = await rejected(t, api, oidcLogin('sub-x', { preferred_username: ['not', 'a', 'string'] }), 'mapping-error');
    t.match(body.problems, [{ field: 'username' }]);
  });
  t.test('mapping-error: an unusable username', async (t) => {
    const body = await rejected(t, api, samlLogin('s-ctl', { uid: ['bad\u0000name'] }, { idpId: 'other' }), 'mapping-error');
    t.match(body.problems, [{ code: 'invalid-username' }]);
  });
  t.test('username-conflict: another identity maps to a taken username', async (t) => {
    await api.loginOk(samlLogin('alice'));
    const body = await rejected(t, api, samlLogin('someone-else', { uid: ['ALICE'] }, { idpId: 'other' }), 'username-conflict');
    t.match(body.message, /ALICE|alice/);
    const detail = (await api.get(`${USERS}/alice`)).json();
    t.same(detail.identities.map((i: { 'idp-id': string }) => i['idp-id']), ['okta'], 'no silent takeover');
  });
  t.test('user-deactivated', async (t) => {
    await api.loginOk(samlLogin('carol'));
    t.equal((await api.post(`${USERS}/carol/deactivate`, {})).statusCode, 200);
    await rejected(t, api, samlLogin('carol', { displayName: ['Carol New'] }), 'user-deactivated');
    t.equal((await api.get(`${USERS}/carol`)).json().active, false, 'logins never reactivate anyone');
  });
  t.test('idp-disabled', async (t) => {
    t.equal((await api.patch(`${AUTHCONFIG}/idps/okta`, { enabled: false })).statusCode, 200);
    await rejected(t, api, samlLogin('alice'), 'idp-disabled');
    await rejected(t, api, samlLogin('dave'), 'idp-disabled');
  });
});

t.test('re-delivery of the same loginId adds nothing and answers the same', async (t) => {
  const api = await startApi(t);
  await withDefaultIdps(api);
  await api.createIdp(samlIdp({ id: 'noprov', name: 'No provisioning' }, { 'user-provisioning-enabled': false }));
  const first = samlLogin('alice');
  const a = await api.login(first);
  t.equal(a.json().outcome, 'provisioned');
  const head = await api.head();
  const b = await api.login(first);
  t.equal(b.statusCode, 200);
  t.same(b.json(), a.json());
  t.equal(await api.head(), head, 'no new events');

  // Still the same answer after later logins changed the user.
  await api.loginOk(samlLogin('alice', { displayName: ['Alice Later'] }));
  const c = await api.login(first);
  t.same(c.json(), a.json(), 'the answer is the outcome of that login, not the current state');

  const refusedLogin = samlLogin('nobody', {}, { idpId: 'noprov' });
  const r1 = await api.login(refusedLogin);
  t.equal(r1.statusCode, 403);
  const afterRejection = await api.head();
  const r2 = await api.login(refusedLogin);
  t.equal(r2.statusCode, 403);
  t.same(r2.json(), r1.json());
  t.equal(await api.head(), afterRejection, 'a re-delivered rejection is not recorded twice');

  // Concurrent re-deliveries as well.
  const burst = samlLogin('bob');
  const answers = await Promise.all(Array.from({ length: 10 }, () => api.login(burst)));
  t.same(new Set(answers.map((r) => r.statusCode)), new Set([200]));
  t.same(new Set(answers.map((r) => r.json().outcome)), new Set(['provisioned']));
  t.equal((await api.events()).filter((e) => e.metadata.loginId === burst.loginId).length, 2, 'one UserProvisioned and one UserLoggedIn');
});

t.test('20 concurrent first logins of one identity provision it once', async (t) => {
  const api = await startApi(t);
  await withDefaultIdps(api);
  const answers = await Promise.all(Array.from({ length: 20 }, () => api.login(samlLogin('alice'))));
  t.same(answers.map((r) => r.statusCode), Array(20).fill(200), answers.map((r) => r.body).find((b) => !b.includes('outcome')) ?? 'all answered');
  const outcomes = answers.map((r) => r.json().outcome);
  t.equal(outcomes.filter((o) => o === 'provisioned').length, 1, 'one login provisioned');
  t.equal(outcomes.filter((o) => o === 'unchanged').length, 19, 'the others found the user');
  t.equal(await countOf(api, 'UserProvisioned'), 1);
  t.equal(await countOf(api, 'UserLoggedIn'), 20);
  t.equal(new Set(answers.map((r) => r.json().user['user-id'])).size, 1);
});

t.test('the login handler raced directly (as the gateway and the Kafka consumer call it) provisions once and answers all', async (t) => {
  const api = await startApi(t);
  await withDefaultIdps(api);
  const deps = { ...api.runtime, idps: api.runtime.registry };
  const results = await Promise.allSettled(Array.from({ length: 20 }, () => provisionOnLogin(deps, samlLogin('alice'), { correlationId: 'race', actor: 'gateway' })));
  t.same(results.map((r) => r.status), Array(20).fill('fulfilled'), 'no login gave up on a conflict');
  t.same(results.map((r) => (r.status === 'fulfilled' ? r.value.outcome : 'failed')).sort(), ['provisioned', ...Array(19).fill('unchanged')]);
  t.equal(await countOf(api, 'UserProvisioned'), 1);
});

t.test('ten processes on one store race on a first login', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'jit-processes-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const first = await startApi(t, { JIT_DATA_DIR: dataDir });
  await withDefaultIdps(first);
  const processes = [first];
  while (processes.length < 10) processes.push(await startApi(t, { JIT_DATA_DIR: dataDir }));
  // Through the handler itself: HTTP parsing would stagger the requests and hide the contention.
  const results = await Promise.allSettled(
    Array.from({ length: 20 }, (_, i) => {
      const { runtime } = processes[i % 10]!;
      return provisionOnLogin({ ...runtime, idps: runtime.registry }, samlLogin('alice'), { correlationId: `race-${i}`, actor: 'gateway' });
    }),
  );
  t.same(results.map((r) => (r.status === 'fulfilled' ? 'answered' : String(r.reason))), Array(20).fill('answered'), 'no login gave up on a conflict');
  t.equal(results.filter((r) => r.status === 'fulfilled' && r.value.outcome === 'provisioned').length, 1);
  t.equal(await countOf(first, 'UserProvisioned'), 1);
  t.equal(await countOf(first, 'UserLoggedIn'), 20);
});

t.test('10 identities racing for one username: one wins, the others conflict', async (t) => {
  const api = await startApi(t);
  await api.createIdp(samlIdp({ 'username-attribute': '${uid}' }));
  const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => api.login(samlLogin(`subject-${i}`, { uid: ['shared'] }))));
  const statuses = answers.map((r) => r.statusCode).sort();
  t.same(statuses, [200, ...Array(9).fill(403)]);
  t.same(answers.filter((r) => r.statusCode === 403).map((r) => r.json().reason), Array(9).fill('username-conflict'));
  t.equal(await countOf(api, 'UserProvisioned'), 1);
  await api.settled();
  const users = (await api.get(USERS)).json();
  t.equal(users.length, 1);
  const winner = answers.find((r) => r.statusCode === 200)!.json().user;
  t.equal(users[0]['user-id'], winner['user-id']);
});

t.test('link-existing-users joins a new identity to the user with that username', async (t) => {
  const api = await startApi(t);
  await api.createIdp(samlIdp());
  await api.createIdp(oidcIdp({}, { 'link-existing-users': true }));
  await api.createIdp(oidcIdp({ id: 'nolink', name: 'No linking' }));
  const alice = (await api.loginOk(samlLogin('alice'))) as { user: { 'user-id': string } };

  await rejected(t, api, oidcLogin('sub-9', { preferred_username: 'alice' }, { idpId: 'nolink' }), 'username-conflict');

  const linked = await api.login(oidcLogin('sub-1', { preferred_username: 'Alice', name: 'alice Display', email: 'alice@example.com', groups: ['staff'] }));
  t.equal(linked.statusCode, 200, linked.body);
  t.equal(linked.json().outcome, 'updated');
  t.equal(linked.json().user['user-id'], alice.user['user-id'], 'the existing user, not a new one');
  t.equal(await countOf(api, 'UserProvisioned'), 1);
  t.equal(await countOf(api, 'UserIdentityLinked'), 1);
  await api.settled();
  const detail = (await api.get(`${USERS}/alice`)).json();
  t.same(detail.identities.map((i: { 'idp-id': string; subject: string }) => [i['idp-id'], i.subject]), [
    ['okta', 'alice'],
    ['entra', 'sub-1'],
  ]);
  const later = await api.login(oidcLogin('sub-1', { preferred_username: 'Alice', name: 'alice Display', email: 'alice@example.com', groups: ['staff'] }));
  t.equal(later.json().outcome, 'unchanged', 'the linked identity logs in as that user');
  t.equal(later.json().user['user-id'], alice.user['user-id']);

  t.equal((await api.post(`${USERS}/alice/deactivate`, {})).statusCode, 200);
  await rejected(t, api, oidcLogin('sub-2', { preferred_username: 'alice' }), 'user-deactivated');
});

t.test('refusals before any decision: 4xx and nothing written', async (t) => {
  const api = await startApi(t);
  await withDefaultIdps(api);
  const wrongProtocol = await refusedBeforeDeciding(t, api, samlLogin('alice', {}, { idpId: 'entra' }), 409, 'protocol-mismatch');
  t.match(wrongProtocol.message, /entra/);
  const wrongProtocol2 = { ...oidcLogin('alice'), idpId: 'okta' };
  await refusedBeforeDeciding(t, api, wrongProtocol2, 409, 'protocol-mismatch');
  await refusedBeforeDeciding(t, api, samlLogin('alice', {}, { idpId: 'nope' }), 404, 'idp-not-found');
  const sub = await refusedBeforeDeciding(t, api, oidcLogin('alice', { sub: 'mallory' }), 400, 'invalid-request');
  t.match(sub.message, /sub/);
  await refusedBeforeDeciding(t, api, oidcLogin('alice', { sub: 42 }), 400, 'invalid-request');
  const future = new Date(Date.now() + 3_600_000).toISOString();
  await refusedBeforeDeciding(t, api, samlLogin('alice', {}, { authenticatedAt: future }), 400, 'invalid-request');
  // RFC 3339 allows a leap second; Date does not, and such an instant would stall the projection.
  const leap = await refusedBeforeDeciding(t, api, samlLogin('alice', {}, { authenticatedAt: '2016-12-31T23:59:60Z' }), 400, 'invalid-request');
  t.match(leap.message, /authenticatedAt/);
  const { attributes: _a, ...noAttributes } = samlLogin('alice');
  await refusedBeforeDeciding(t, api, noAttributes, 400, 'invalid-request');
  await refusedBeforeDeciding(t, api, { ...samlLogin('alice'), claims: { sub: 'alice' } }, 400, 'invalid-request');
  await refusedBeforeDeciding(t, api, { ...samlLogin('alice'), loginId: 'not-a-uuid' }, 400, 'invalid-request');
  await refusedBeforeDeciding(t, api, { ...samlLogin('alice'), protocol: 'ldap' }, 400, 'invalid-request');
  await refusedBeforeDeciding(t, api, { ...samlLogin('alice'), subject: '' }, 400, 'invalid-request');
  t.same((await api.get(USERS)).json(), []);
  await api.loginOk(samlLogin('alice'));
  t.same((await api.get(USERS)).json().map((u: { username: string }) => u.username), ['alice'], 'the projection still follows');
});

t.test('an OIDC login without claims.sub uses the subject', async (t) => {
  const api = await startApi(t);
  await api.createIdp(oidcIdp({ 'username-claim': '${sub}' }));
  const login = oidcLogin('sub-7');
  delete (login.claims as Record<string, unknown>)['sub'];
  const res = await api.login(login);
  t.equal(res.statusCode, 200, res.body);
  t.equal(res.json().user.username, 'sub-7');
});

t.test('an admin token may submit logins too', async (t) => {
  const api = await startApi(t);
  await withDefaultIdps(api);
  const login = samlLogin('alice');
  const res = await api.post(LOGINS, login, admin);
  t.equal(res.statusCode, 200);
  const [event] = await api.events('UserProvisioned');
  t.match(event!.metadata.actor, /^admin:[0-9a-f]{8}$/);
  t.equal(event!.metadata.loginId, login.loginId);
});
