/** Bearer tokens: 401 without or with a bad token, 403 for a gateway token on admin routes, public routes stay public. */
import t from 'tap';
import { ADMIN_TOKEN, GATEWAY_TOKEN, samlIdp, samlLogin } from '../support/fixtures.js';
import { AUTHCONFIG, LOGINS, startApi } from './fixtures/api.js';

type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

const ADMIN_ROUTES: [Method, string, unknown?][] = [
  ['GET', '/jit-users'],
  ['GET', '/jit-users/alice'],
  ['GET', '/jit-users/alice/history'],
  ['POST', '/jit-users/alice/deactivate', {}],
  ['POST', '/jit-users/alice/reactivate', {}],
  ['PUT', '/jit-users/alice/groups/ops'],
  ['DELETE', '/jit-users/alice/groups/jira-users'],
  ['GET', '/idps'],
  ['POST', '/idps', samlIdp({ id: 'new' })],
  ['GET', '/idps/okta'],
  ['PATCH', '/idps/okta', { name: 'Changed' }],
  ['DELETE', '/idps/okta'],
  ['POST', '/idps/okta/jit-test', { 'name-id': 'alice', attributes: {} }],
];
const PREFIXES = [AUTHCONFIG, '/rest/authconfig/latest'];

const BAD_HEADERS: [string, Record<string, string>, string][] = [
  ['no Authorization header', {}, 'A valid bearer token is required'],
  ['Basic credentials', { authorization: `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}` }, 'The Authorization header is not a bearer token'],
  ['Bearer without a token', { authorization: 'Bearer' }, 'The Authorization header is not a bearer token'],
  ['Bearer and spaces', { authorization: 'Bearer    ' }, 'The Authorization header is not a bearer token'],
  ['a bare token', { authorization: ADMIN_TOKEN }, 'The Authorization header is not a bearer token'],
  ['a token with a space inside', { authorization: `Bearer ${ADMIN_TOKEN} extra` }, 'The Authorization header is not a bearer token'],
  ['an unknown token', { authorization: 'Bearer not-a-token-we-know-of-0123' }, 'The bearer token is not valid'],
  ['a prefix of the admin token', { authorization: `Bearer ${ADMIN_TOKEN.slice(0, -1)}` }, 'The bearer token is not valid'],
  ['the admin token with a suffix', { authorization: `Bearer ${ADMIN_TOKEN}x` }, 'The bearer token is not valid'],
];

t.test('admin routes', async (t) => {
  const api = await startApi(t);
  await api.createIdp(samlIdp());
  await api.loginOk(samlLogin('alice'));
  const before = await api.head();

  for (const prefix of PREFIXES) {
    for (const [method, path, payload] of ADMIN_ROUTES) {
      const route = `${method} ${prefix}${path}`;
      const send = (headers: Record<string, string>) =>
        api.app.inject({ method, url: `${prefix}${path}`, headers, ...(payload === undefined ? {} : { payload: payload as object }) });
      for (const [label, headers, message] of BAD_HEADERS) {
        const res = await send(headers);
        t.equal(res.statusCode, 401, `${route}: ${label}`);
        t.same(res.json(), { error: 'unauthorized', message }, `${route}: ${label}`);
        t.equal(res.headers['www-authenticate'], 'Bearer realm="jit"', `${route}: ${label} has WWW-Authenticate`);
      }
      const gateway = await send({ authorization: `Bearer ${GATEWAY_TOKEN}` });
      t.equal(gateway.statusCode, 403, `${route}: a gateway token`);
      t.same(gateway.json(), { error: 'forbidden', message: 'This token may not use admin routes' });
      t.notOk(gateway.headers['www-authenticate']);
    }
  }
  t.equal(await api.head(), before, 'no refused request wrote anything');
  t.equal((await api.get(`${AUTHCONFIG}/idps/okta`)).json().name, 'Okta (SAML)');
});

t.test('authorization is checked before the body is read', async (t) => {
  const api = await startApi(t);
  const res = await api.app.inject({ method: 'POST', url: `${AUTHCONFIG}/idps`, headers: { 'content-type': 'application/json' }, payload: '{not json' });
  t.equal(res.statusCode, 401);
  const big = await api.app.inject({ method: 'POST', url: LOGINS, headers: { 'content-type': 'application/json' }, payload: 'x'.repeat(2 * 1024 * 1024) });
  t.equal(big.statusCode, 401);
});

t.test('the login route takes gateway and admin tokens', async (t) => {
  const api = await startApi(t);
  await api.createIdp(samlIdp());
  for (const [label, headers, message] of BAD_HEADERS) {
    const res = await api.app.inject({ method: 'POST', url: LOGINS, headers, payload: samlLogin('alice') });
    t.equal(res.statusCode, 401, label);
    t.same(res.json(), { error: 'unauthorized', message });
    t.equal(res.headers['www-authenticate'], 'Bearer realm="jit"');
  }
  t.equal(await api.head(), 1, 'only the IdP was written');
  const gateway = await api.app.inject({ method: 'POST', url: LOGINS, headers: { authorization: `bearer ${GATEWAY_TOKEN}` }, payload: samlLogin('alice') });
  t.equal(gateway.statusCode, 200, 'the scheme is case-insensitive');
  const admin = await api.app.inject({ method: 'POST', url: LOGINS, headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, payload: samlLogin('bob') });
  t.equal(admin.statusCode, 200, 'an admin token holds every right');
});

t.test('several tokens of each kind', async (t) => {
  const api = await startApi(t, { JIT_ADMIN_TOKENS: `${ADMIN_TOKEN}, second-admin-token-0123456789`, JIT_GATEWAY_TOKENS: `${GATEWAY_TOKEN},second-gateway-token-0123456789` });
  t.equal((await api.get(`${AUTHCONFIG}/idps`, { authorization: 'Bearer second-admin-token-0123456789' })).statusCode, 200);
  t.equal((await api.get(`${AUTHCONFIG}/idps`, { authorization: 'Bearer second-gateway-token-0123456789' })).statusCode, 403);
});

t.test('public routes need no token', async (t) => {
  const api = await startApi(t);
  for (const url of ['/healthz', '/readyz', '/docs', '/docs/json', '/docs/yaml']) {
    const res = await api.app.inject({ method: 'GET', url });
    t.equal(res.statusCode, 200, url);
  }
  const openapi = (await api.app.inject({ method: 'GET', url: '/docs/json' })).json();
  t.equal(openapi.openapi, '3.1.0');
  t.ok(openapi.paths['/rest/authconfig/1.0/jit-users'], 'the API is described');
  t.ok(openapi.paths['/rest/jit/1.0/logins']);
  t.same(openapi.components.securitySchemes.bearer, { type: 'http', scheme: 'bearer' });
  const unknown = await api.app.inject({ method: 'GET', url: '/rest/authconfig/1.0/nothing-here' });
  t.equal(unknown.statusCode, 404);
  t.same(unknown.json(), { error: 'not-found', message: 'No route for GET /rest/authconfig/1.0/nothing-here' });
});
