/**
 * Admin routes authorized by an SSO session: a real SAML login through the gateway gives the
 * cookie; an admin group lets it in, with the CSRF header or a same-origin Origin; everything
 * else (no CSRF proof, a non-admin, a deactivated or demoted admin, an expired or foreign
 * session, a gateway route) is refused, and bearer tokens behave as before.
 */
import t from 'tap';
import type { Test } from 'tap';
import { userStreamId } from '../../events/catalogue.js';
import { ADMIN_TOKEN, GATEWAY_TOKEN, samlLogin } from '../support/fixtures.js';
import { startGatewayApp } from '../support/gatewayHarness.js';
import { samlScenario, type SamlScenario } from '../support/samlScenario.js';

const USERS = '/rest/authconfig/1.0/jit-users';
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const csrf = { 'x-jit-csrf': '1' };
const SECRET = 'a-session-secret-for-the-admin-tests-0123456789';

/** A SAML login for `nameId` with `groups`; answers the browser's Cookie header. */
async function signIn(s: SamlScenario, nameId: string, groups: string[]): Promise<string> {
  const start = await s.start('/admin');
  const res = await s.post(s.response(start, { nameId, attributes: { displayName: [`${nameId} Example`], email: [`${nameId}@example.com`], groups } }), start);
  if (res.statusCode !== 302) throw new Error(`login answered ${res.statusCode}: ${res.body}`);
  return start.jar.header();
}

function scenario(t: Test, env: Record<string, string> = {}): Promise<SamlScenario> {
  return samlScenario(t, { env: { JIT_ADMIN_GROUPS: 'developers', JIT_SESSION_SECRET: SECRET, ...env } });
}

t.test('an admin group member calls admin routes with the cookie and the CSRF header', async (t) => {
  const s = await scenario(t);
  const { app } = s.gw;
  const cookie = await signIn(s, 'alice', ['jira-users', 'developers']);
  await signIn(s, 'bob', ['jira-users']);

  const list = await app.inject({ url: USERS, headers: { cookie, ...csrf } });
  t.equal(list.statusCode, 200);
  t.same(list.json().map((u: { username: string }) => u.username), ['alice', 'bob']);
  t.equal((await app.inject({ url: `${USERS}/bob/history`, headers: { cookie, ...csrf } })).statusCode, 200);
  t.equal((await app.inject({ url: '/rest/authconfig/latest/idps', headers: { cookie, ...csrf } })).statusCode, 200, 'the latest alias too');

  const sameOrigin = await app.inject({ url: USERS, headers: { cookie, origin: s.publicUrl } });
  t.equal(sameOrigin.statusCode, 200, 'a same-origin Origin stands in for the header');

  const deactivate = await app.inject({ method: 'POST', url: `${USERS}/bob/deactivate`, headers: { cookie, ...csrf }, payload: { comment: 'left' } });
  t.equal(deactivate.statusCode, 200);
  t.equal(deactivate.json().active, false);
  const bobId = (await s.gw.runtime.readModel.findUser('bob'))!.userId;
  const events = await s.gw.runtime.store.readStream(userStreamId(bobId));
  t.match(events.at(-1), { type: 'UserDeactivated', metadata: { actor: 'sso:alice' } }, 'the event names the SSO admin');
});

t.test('CSRF: a cookie alone, a foreign Origin or a wrong header value is refused, and writes nothing', async (t) => {
  const s = await scenario(t);
  const { app, runtime } = s.gw;
  const cookie = await signIn(s, 'alice', ['developers']);
  await signIn(s, 'bob', ['jira-users']);
  const head = await runtime.store.headPosition();

  const attempts: [string, Record<string, string>][] = [
    ['no header, no Origin', {}],
    ['a cross-site Origin', { origin: 'https://evil.example' }],
    ['Origin null', { origin: 'null' }],
    ['the public URL as a prefix of another host', { origin: `${s.publicUrl}.evil.example` }],
    ['X-JIT-CSRF: 0', { 'x-jit-csrf': '0' }],
    ['an empty X-JIT-CSRF', { 'x-jit-csrf': '' }],
  ];
  for (const [label, headers] of attempts) {
    const read = await app.inject({ url: USERS, headers: { cookie, ...headers } });
    t.equal(read.statusCode, 403, `GET, ${label}`);
    t.same(read.json(), { error: 'forbidden', message: 'A request authorized by the SSO session cookie needs the header X-JIT-CSRF: 1 (or a same-origin Origin)' });
    const write = await app.inject({ method: 'POST', url: `${USERS}/bob/deactivate`, headers: { cookie, ...headers, 'content-type': 'application/json' }, payload: '{}' });
    t.equal(write.statusCode, 403, `POST, ${label}`);
  }
  t.equal(await runtime.store.headPosition(), head, 'no refused request appended an event');
  t.equal((await runtime.readModel.findUser('bob'))?.active, true);
});

t.test('bearer tokens are unaffected: no CSRF header needed, and the token alone decides', async (t) => {
  const s = await scenario(t);
  const { app } = s.gw;
  const cookie = await signIn(s, 'alice', ['developers']);
  t.equal((await app.inject({ url: USERS, headers: admin })).statusCode, 200, 'a token without a CSRF header');
  t.equal((await app.inject({ url: USERS, headers: { ...admin, cookie } })).statusCode, 200, 'a token with an admin cookie');
  const badToken = await app.inject({ url: USERS, headers: { authorization: 'Bearer not-a-token-we-know-of-0123', cookie, ...csrf } });
  t.equal(badToken.statusCode, 401, 'a bad token is not rescued by a good cookie');
  t.equal(badToken.json().error, 'unauthorized');
  const gatewayToken = await app.inject({ url: USERS, headers: { authorization: `Bearer ${GATEWAY_TOKEN}`, cookie, ...csrf } });
  t.equal(gatewayToken.statusCode, 403, 'nor a gateway token');

  const intake = await app.inject({ method: 'POST', url: '/rest/jit/1.0/logins', headers: { cookie, ...csrf }, payload: samlLogin('mallory') as object });
  t.equal(intake.statusCode, 401, 'an admin session holds no gateway right');
});

t.test('a session without an admin group is refused (403)', async (t) => {
  const s = await scenario(t);
  const cookie = await signIn(s, 'bob', ['jira-users', 'Developers-Team']);
  const res = await s.gw.app.inject({ url: USERS, headers: { cookie, ...csrf } });
  t.equal(res.statusCode, 403);
  t.same(res.json(), { error: 'forbidden', message: 'Your SSO session does not include an administrator group' });

  const none = await scenario(t, { JIT_ADMIN_GROUPS: '' });
  const anyone = await signIn(none, 'alice', ['developers']);
  t.equal((await none.gw.app.inject({ url: USERS, headers: { cookie: anyone, ...csrf } })).statusCode, 403, 'no JIT_ADMIN_GROUPS: no session is an admin');
});

t.test('a deactivated admin, or one taken out of the admin group, loses access at once', async (t) => {
  const s = await scenario(t);
  const { app } = s.gw;
  const cookie = await signIn(s, 'alice', ['jira-users', 'developers']);
  const asAlice = () => app.inject({ url: USERS, headers: { cookie, ...csrf } });
  t.equal((await asAlice()).statusCode, 200);

  t.equal((await app.inject({ method: 'POST', url: `${USERS}/alice/deactivate`, headers: admin })).statusCode, 200);
  const deactivated = await asAlice();
  t.equal(deactivated.statusCode, 403);
  t.same(deactivated.json(), { error: 'forbidden', message: 'Your account is deactivated' });

  t.equal((await app.inject({ method: 'POST', url: `${USERS}/alice/reactivate`, headers: admin })).statusCode, 200);
  t.equal((await asAlice()).statusCode, 200, 'reactivated: the same cookie works again');

  t.equal((await app.inject({ method: 'DELETE', url: `${USERS}/alice/groups/developers`, headers: admin })).statusCode, 200);
  const demoted = await asAlice();
  t.equal(demoted.statusCode, 403);
  t.same(demoted.json(), { error: 'forbidden', message: 'You are no longer a member of an administrator group' });
});

t.test('an expired, tampered or foreign session is no session (401)', async (t) => {
  const clock = { now: new Date() };
  const s = await scenario(t);
  const cookie = await signIn(s, 'alice', ['developers']);
  const tampered = cookie.replace(/(jit_session=)(.)/, (_, name: string, first: string) => `${name}${first === 'A' ? 'B' : 'A'}`);
  const res = await s.gw.app.inject({ url: USERS, headers: { cookie: tampered, ...csrf } });
  t.equal(res.statusCode, 401, 'tampered');
  t.equal(res.json().error, 'unauthorized');

  // Another deployment with the same session secret but another store: the user is unknown there.
  const other = await startGatewayApp(t, { env: { JIT_ADMIN_GROUPS: 'developers', JIT_SESSION_SECRET: SECRET } });
  const foreign = await other.app.inject({ url: USERS, headers: { cookie, ...csrf } });
  t.equal(foreign.statusCode, 401);
  t.same(foreign.json(), { error: 'session-required', message: 'The user of this SSO session no longer exists; sign in again' });

  // The same store read later than the session's 8 hours.
  const later = await startGatewayApp(t, { dataDir: s.gw.dataDir, env: { JIT_ADMIN_GROUPS: 'developers', JIT_SESSION_SECRET: SECRET }, overrides: { now: () => clock.now } });
  t.equal((await later.app.inject({ url: USERS, headers: { cookie, ...csrf } })).statusCode, 200, 'within the 8 hours');
  clock.now = new Date(Date.now() + 8 * 3600_000 + 60_000);
  t.equal((await later.app.inject({ url: USERS, headers: { cookie, ...csrf } })).statusCode, 401, 'after 8 hours');
});
