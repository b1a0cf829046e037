import { createServer } from 'node:net';
import t from 'tap';
import { oidcIdp, samlIdp } from '../../test/support/fixtures.js';
import { createIdp, startGatewayApp, usersIn } from '../../test/support/gatewayHarness.js';
import { samlScenario } from '../../test/support/samlScenario.js';

/** A port on which nothing listens. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

t.test('login start', async (t) => {
  const gw = await startGatewayApp(t);
  await createIdp(gw.app, samlIdp({ id: 'okta' }));
  await createIdp(gw.app, samlIdp({ id: 'okta-off', enabled: false }));
  await createIdp(gw.app, oidcIdp({ id: 'down', 'issuer-url': `http://127.0.0.1:${await closedPort()}/realms/x`, 'allow-insecure-http': true }));

  const unknown = await gw.app.inject({ method: 'GET', url: '/sso/nope/login' });
  t.equal(unknown.statusCode, 404);
  t.match(unknown.headers['content-type'], /text\/html/);
  t.match(unknown.body, /idp-not-found/);

  const disabled = await gw.app.inject({ method: 'GET', url: '/sso/okta-off/login' });
  t.equal(disabled.statusCode, 403);
  t.match(disabled.body, /currently disabled/);

  const unreachable = await gw.app.inject({ method: 'GET', url: '/sso/down/login' });
  t.equal(unreachable.statusCode, 502);
  t.match(unreachable.body, /identity provider could not be reached/);
  t.notMatch(unreachable.body, /ECONNREFUSED|fetch failed/, 'no internals');

  const saml = await gw.app.inject({ method: 'GET', url: '/sso/okta/login?returnTo=%2Fx' });
  t.equal(saml.statusCode, 302);
  t.match(saml.headers.location, /^https:\/\/idp\.example\.com\/sso\/saml\?SAMLRequest=.+&RelayState=_[0-9a-f]{40}$/);
  t.equal(saml.headers['cache-control'], 'no-store');
  t.same(await gw.runtime.store.readAll({ after: await gw.runtime.store.headPosition() }), [], 'starting a login writes no event');
});

t.test('SP metadata', async (t) => {
  const gw = await startGatewayApp(t);
  await createIdp(gw.app, samlIdp({ id: 'okta', 'required-signatures': 'response' }));
  await createIdp(gw.app, oidcIdp({ id: 'entra' }));
  const res = await gw.app.inject({ method: 'GET', url: '/sso/okta/saml/metadata' });
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /application\/samlmetadata\+xml/);
  t.match(res.body, 'entityID="http://127.0.0.1:18080/sso/okta/saml/metadata"');
  t.match(res.body, 'Location="http://127.0.0.1:18080/sso/okta/saml/acs"');
  t.notMatch(res.body, 'WantAssertionsSigned="true"', 'required-signatures response: assertions need not be signed');
  t.equal((await gw.app.inject({ method: 'GET', url: '/sso/entra/saml/metadata' })).statusCode, 404, 'not for an OIDC IdP');
});

t.test('an unsafe returnTo given at login start ends at /', async (t) => {
  const s = await samlScenario(t);
  const start = await s.start('https://evil.example.com/phish');
  const res = await s.post(s.response(start), start);
  t.equal(res.statusCode, 302);
  t.equal(res.headers.location, `${s.publicUrl}/`);
});

t.test('the gateway scope does not change the JSON API', async (t) => {
  const gw = await startGatewayApp(t);
  const form = await gw.app.inject({ method: 'POST', url: '/rest/jit/1.0/logins', headers: { authorization: 'Bearer gateway-token-0123456789abcdef', 'content-type': 'application/x-www-form-urlencoded' }, payload: 'a=b' });
  t.equal(form.statusCode, 415, 'form bodies are parsed only in the gateway scope');
  t.match(form.json(), { error: 'unsupported-media-type' });
});

t.test('without the gateway service there are no SSO routes', async (t) => {
  const gw = await startGatewayApp(t, { env: { JIT_SERVICES: 'api,provisioning,projections' } });
  await createIdp(gw.app, samlIdp({ id: 'okta' }));
  t.equal((await gw.app.inject({ method: 'GET', url: '/sso/okta/login' })).statusCode, 404);
  t.equal((await gw.app.inject({ method: 'GET', url: '/sso/session' })).statusCode, 404);
  t.same(await usersIn(gw.runtime), []);
});
