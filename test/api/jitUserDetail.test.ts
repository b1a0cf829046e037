/** GET /jit-users/{username} (groups with provenance, identities) and GET /jit-users/{username}/history. */
import t, { type Test } from 'tap';
import { oidcIdp, oidcLogin, samlIdp, samlLogin } from '../support/fixtures.js';
import { AUTHCONFIG, startApi, testClock } from './fixtures/api.js';

const USERS = `${AUTHCONFIG}/jit-users`;
type Envelope = {
  eventId: string;
  type: string;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
  streamId: string;
  revision: number;
  position: number;
  recordedAt: string;
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

async function seeded(t: Test) {
  const clock = testClock();
  const api = await startApi(t, {}, { now: clock.now });
  await api.createIdp(samlIdp({}, { 'additional-groups': ['all-staff'] }));
  await api.createIdp(oidcIdp({}, { 'link-existing-users': true, 'group-sync': 'managed' }));
  const at: Record<string, string> = {};
  clock.advance(1000);
  at['provisioned'] = clock.iso();
  const firstLogin = samlLogin('alice', { displayName: ['Alice Liddell'], email: ['alice@example.com'], groups: ['jira-users', 'ops'] }, { authenticatedAt: clock.iso() });
  const first = await api.login(firstLogin);
  clock.advance(1000);
  at['admin'] = clock.iso();
  const granted = await api.put(`${USERS}/alice/groups/ops`);
  clock.advance(1000);
  at['linked'] = clock.iso();
  const linkLogin = oidcLogin('entra-sub-1', { preferred_username: 'alice', name: 'Alice Liddell', email: 'alice@example.com', groups: ['staff'] }, { authenticatedAt: clock.iso() });
  const linked = await api.login(linkLogin);
  await api.settled();
  return { api, clock, at, first, firstLogin, granted, linked, linkLogin };
}

t.test('one user with group provenance and identities, found case-insensitively', async (t) => {
  const { api, at, first, granted, linked, linkLogin } = await seeded(t);
  t.equal(first.statusCode, 200, first.body);
  t.equal(granted.statusCode, 200, granted.body);
  t.equal(linked.statusCode, 200, linked.body);
  t.equal(linked.json().outcome, 'updated', 'linking an identity is an update');
  const userId = first.json().user['user-id'];

  // Usernames compare as NFKC, trimmed, case-insensitively.
  for (const name of ['alice', 'ALICE', 'Alice', encodeURIComponent('ａｌｉｃｅ'), encodeURIComponent(' alice ')]) {
    const res = await api.get(`${USERS}/${name}`);
    t.equal(res.statusCode, 200, name);
    t.equal(res.json().username, 'alice', `${name} finds alice`);
  }
  const res = await api.get(`${USERS}/alice`);
  t.strictSame(res.json(), {
    username: 'alice',
    'display-name': 'Alice Liddell',
    email: 'alice@example.com',
    'user-id': userId,
    active: true,
    'idp-id': 'okta',
    'provisioned-at': at['provisioned'],
    'last-login-at': linkLogin.authenticatedAt,
    groups: [
      { name: 'all-staff', 'granted-by': [{ type: 'additional-groups', 'idp-id': 'okta', 'granted-at': at['provisioned'] }] },
      { name: 'jira-users', 'granted-by': [{ type: 'idp', 'idp-id': 'okta', 'granted-at': at['provisioned'] }] },
      {
        name: 'ops',
        'granted-by': [
          { type: 'idp', 'idp-id': 'okta', 'granted-at': at['provisioned'] },
          { type: 'admin', 'granted-at': at['admin'] },
        ],
      },
      { name: 'staff', 'granted-by': [{ type: 'idp', 'idp-id': 'entra', 'granted-at': at['linked'] }] },
    ],
    identities: [
      { 'idp-id': 'okta', subject: 'alice', 'linked-at': at['provisioned'] },
      { 'idp-id': 'entra', subject: 'entra-sub-1', 'linked-at': at['linked'] },
    ],
  });
  t.same(Object.keys(res.json()).slice(0, 3), ['username', 'display-name', 'email']);
});

t.test('a deactivated user shows when', async (t) => {
  const { api, clock } = await seeded(t);
  clock.advance(1000);
  const when = clock.iso();
  t.equal((await api.post(`${USERS}/alice/deactivate`, { comment: 'left the company' })).statusCode, 200);
  const res = await api.get(`${USERS}/alice`);
  t.equal(res.json().active, false);
  t.equal(res.json()['deactivated-at'], when);
});

t.test('unknown users are 404', async (t) => {
  const { api } = await seeded(t);
  for (const path of ['nobody', 'nobody/history', 'alic', 'alice2', encodeURIComponent('al ice')]) {
    const res = await api.get(`${USERS}/${path}`);
    t.equal(res.statusCode, 404, path);
    t.equal(res.json().error, 'user-not-found', path);
    t.type(res.json().message, 'string');
  }
});

t.test('history: the user\'s events in order, with their envelope', async (t) => {
  const { api, at, first, firstLogin, linked, linkLogin } = await seeded(t);
  t.equal((await api.post(`${USERS}/alice/deactivate`, {})).statusCode, 200);
  const refused = await api.login(samlLogin('alice', { displayName: ['Alice Liddell'], email: ['alice@example.com'], groups: ['jira-users', 'ops'] }));
  t.equal(refused.statusCode, 403);

  const res = await api.get(`${USERS}/ALICE/history`);
  t.equal(res.statusCode, 200);
  const history = res.json<Envelope[]>();
  const userId = first.json().user['user-id'];
  t.same(
    history.map((e) => e.type),
    ['UserProvisioned', 'UserLoggedIn', 'UserUpdated', 'UserIdentityLinked', 'UserUpdated', 'UserLoggedIn', 'UserDeactivated', 'LoginRejected'],
  );
  t.same(history.map((e) => e.revision), history.map((_, i) => i), 'revisions count from 0');
  const positions = history.map((e) => e.position);
  t.ok(positions.every((p, i) => i === 0 || p > positions[i - 1]!), 'positions increase');
  for (const event of history) {
    t.match(event.eventId, UUID);
    t.equal(event.streamId, `user-${userId}`);
    t.match(event.recordedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    t.equal(event.metadata['schemaVersion'], 1);
    t.type(event.metadata['correlationId'], 'string');
  }
  const [provisioned, loggedIn, adminGrant, identityLinked] = history;
  t.same(provisioned!.data, {
    'user-id': userId,
    'idp-id': 'okta',
    subject: 'alice',
    username: 'alice',
    'display-name': 'Alice Liddell',
    email: 'alice@example.com',
    groups: ['jira-users', 'ops', 'all-staff'],
    grants: [
      { group: 'jira-users', source: { type: 'idp', 'idp-id': 'okta' } },
      { group: 'ops', source: { type: 'idp', 'idp-id': 'okta' } },
      { group: 'all-staff', source: { type: 'additional-groups', 'idp-id': 'okta' } },
    ],
    'login-id': firstLogin.loginId,
  }, 'the data is answered whole');
  t.equal(provisioned!.recordedAt, at['provisioned']);
  t.same(provisioned!.metadata, {
    loginId: firstLogin.loginId,
    correlationId: first.headers['x-request-id'],
    actor: provisioned!.metadata['actor'],
    schemaVersion: 1,
  });
  t.match(provisioned!.metadata['actor'], /^gateway:[0-9a-f]{8}$/);
  t.equal(loggedIn!.data['authenticated-at'], firstLogin.authenticatedAt);
  t.match(adminGrant!.metadata['actor'], /^admin:[0-9a-f]{8}$/);
  t.same(adminGrant!.data['grants'], [{ group: 'ops', source: { type: 'admin' } }]);
  t.equal(identityLinked!.metadata['loginId'], linkLogin.loginId);
  t.equal(identityLinked!.metadata['correlationId'], linked.headers['x-request-id']);
  t.same(history.at(-1)!.data['reason'], 'user-deactivated');
});
