import t from 'tap';
import { samlScenario } from '../../../test/support/samlScenario.js';
import { currentSession, isAdmin, sessionFor, SESSION_COOKIE } from './session.js';

const user = { 'user-id': '6f1c1f5e-3b6b-4c55-9f55-0d6d0d1e2a01', username: 'alice', 'display-name': 'Alice', email: 'a@example.com', groups: ['jira-users', 'Admins'], active: true };
const login = { idpId: 'okta', protocol: 'saml' as const, authenticatedAt: '2026-01-01T00:00:00.000Z' };
const now = new Date('2026-01-01T00:00:10.000Z');

t.test('sessionFor keeps everything when it fits a cookie', async (t) => {
  const session = sessionFor(user, login, now, ['admins']);
  t.match(session, { userId: user['user-id'], username: 'alice', groups: ['jira-users', 'Admins'], groupsComplete: true, idpId: 'okta', expiresAt: '2026-01-01T08:00:10.000Z' });
  t.ok(isAdmin(session.groups, ['ADMINS']), 'group names compare case-insensitively');
  t.notOk(isAdmin(session.groups, ['jira-admins']));
});

t.test('a group list too long for a cookie keeps the admin groups and says so', async (t) => {
  const many = Array.from({ length: 300 }, (_, i) => `project-${i}-developers`);
  const session = sessionFor({ ...user, groups: [...many, 'jira-admins'] }, login, now, ['jira-admins']);
  t.equal(session.groupsComplete, false);
  t.same(session.groups, ['jira-admins']);
  t.ok(JSON.stringify(session).length < 2600);
});

t.test('currentSession narrows untrusted values and honours expiry', async (t) => {
  const session = sessionFor(user, login, now, []);
  t.same(currentSession(session, now), session);
  t.equal(currentSession(session, new Date('2026-01-01T08:00:11.000Z')), undefined, 'expired');
  for (const bad of [undefined, null, 'x', { ...session, v: 2 }, { ...session, groups: [1] }, { ...session, protocol: 'ldap' }, { ...session, expiresAt: 'soon' }]) {
    t.equal(currentSession(bad, now), undefined, JSON.stringify(bad));
  }
});

t.test('GET /sso/session and POST /sso/logout', async (t) => {
  const s = await samlScenario(t, { env: { JIT_ADMIN_GROUPS: 'developers' } });
  const { app } = s.gw;

  const anonymous = await app.inject({ method: 'GET', url: '/sso/session' });
  t.equal(anonymous.statusCode, 401);
  t.same(anonymous.json(), { error: 'session-required', message: 'There is no valid SSO session; sign in first' });

  const start = await s.start();
  const login = await s.post(s.response(start), start);
  t.equal(login.statusCode, 302);
  const setCookie = String(login.headers['set-cookie']);
  t.match(setCookie, new RegExp(`${SESSION_COOKIE}=[^;]+; Max-Age=28800; Path=/; HttpOnly; SameSite=Lax`), 'HttpOnly, SameSite=Lax, 8 hours');
  const sealed = decodeURIComponent(/jit_session=([^;]+)/.exec(setCookie)?.[1] ?? '');
  t.notMatch(Buffer.from(sealed.split(';')[0] ?? '', 'base64').toString('latin1'), /alice|developers/, 'the cookie is encrypted');

  const session = await app.inject({ method: 'GET', url: '/sso/session', headers: start.jar.headers() });
  t.equal(session.statusCode, 200);
  t.match(session.json(), { username: 'alice', 'display-name': 'Alice Liddell', 'idp-id': 'okta', protocol: 'saml', admin: true, 'groups-complete': true });
  t.equal(session.headers['cache-control'], 'no-store');

  const cookie = start.jar.header();
  const tampered = cookie.replace(/(jit_session=)(.)/, (_, name: string, first: string) => `${name}${first === 'A' ? 'B' : 'A'}`);
  t.not(tampered, cookie);
  t.equal((await app.inject({ method: 'GET', url: '/sso/session', headers: { cookie: tampered } })).statusCode, 401, 'a tampered cookie is no session');

  const logout = await app.inject({ method: 'POST', url: '/sso/logout', headers: start.jar.headers() });
  t.equal(logout.statusCode, 204);
  start.jar.take(logout);
  t.notOk(start.jar.has(SESSION_COOKIE), 'the cookie is cleared');
  t.equal((await app.inject({ method: 'GET', url: '/sso/session', headers: start.jar.headers() })).statusCode, 401);

  const away = await app.inject({ method: 'POST', url: '/sso/logout?returnTo=%2F%2Fevil.com' });
  t.equal(away.statusCode, 303);
  t.equal(away.headers.location, '/', 'an unsafe returnTo falls back to /');
  const home = await app.inject({ method: 'POST', url: '/sso/logout?returnTo=%2Fbye' });
  t.equal(home.headers.location, `${s.publicUrl}/bye`);
});
