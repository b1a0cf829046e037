/**
 * OIDC ID token attacks, served by an in-process OpenID Provider (test/support/oidcTokenServer):
 * a correct login is accepted first, then tokens with `alg: none`, an HMAC made with the client
 * secret, a foreign key, wrong iss/aud/azp, a bad or missing nonce, outside their validity, or
 * without sub are refused — no user, nothing but LoginRejected.
 */
import t from 'tap';
import { CookieJar, createIdp, usersIn } from '../support/gatewayHarness.js';
import { CLIENT_ID, newSigningKey, type TokenPlan } from '../support/oidcTokenServer.js';
import { oidcScenario, oidcTestIdp } from '../support/oidcScenario.js';

t.test('a correct login is accepted (the token server is a faithful OP)', async (t) => {
  const s = await oidcScenario(t, { idp: { 'additional-scopes': ['profile', 'email'] }, jit: { 'additional-openid-scopes': ['groups', 'email'] } });
  const { legs, res } = await s.login({ returnTo: '/projects' });
  t.equal(res.statusCode, 302, res.body.slice(0, 300));
  t.equal(res.headers.location, `${s.gw.runtime.config.publicUrl}/projects`);
  const auth = s.server.lastAuthorization;
  t.equal(auth?.scope, 'openid profile email groups', 'openid, additional-scopes and additional-openid-scopes, once each');
  t.equal(auth?.method, 'S256', 'PKCE with S256');
  t.equal(auth?.redirectUri, `${s.gw.runtime.config.publicUrl}/sso/entra/oidc/callback`);
  t.ok(auth?.nonce && auth.nonce.length >= 32, 'a nonce');
  t.ok(auth?.state && auth.state.length >= 32, 'a state');
  t.equal(s.server.verifiedPkce, 1, 'the token endpoint checked the code_verifier');
  t.match(legs.jar.header(), /jit_session=/);
  const [user] = await usersIn(s.gw.runtime);
  t.match(user, { username: 'alice', displayName: 'Alice Liddell', email: 'alice@example.com', idpId: 'entra' });
  t.same([...(user?.groups ?? [])].sort(), ['developers', 'jira-users']);
});

t.test('explicit endpoints (discovery disabled) get the same checks', async (t) => {
  const s = await oidcScenario(t, {
    idp: (server) => ({
      'discovery-enabled': false,
      'authorization-endpoint': `${server.issuer}/authorize`,
      'token-endpoint': `${server.issuer}/token`,
      'jwks-uri': `${server.issuer}/jwks`,
    }),
  });
  const { res } = await s.login();
  t.equal(res.statusCode, 302, res.body.slice(0, 300));
  t.equal(s.server.jwksFetches, 1, 'the signature was checked against the configured jwks-uri');
  s.server.plan = (p) => ({ ...p, claims: { ...p.claims, iss: 'https://evil.example.com' } });
  await s.expectRejected(t, async () => (await s.login()).res, 'oidc-issuer-mismatch');
  s.server.plan = (p) => ({ ...p, signWith: 'none' });
  await s.expectRejected(t, async () => (await s.login()).res, 'oidc-algorithm-rejected');
});

t.test('forged ID tokens', async (t) => {
  const s = await oidcScenario(t);
  const foreign = newSigningKey('key-1');
  const unknownKid = newSigningKey('key-unknown');
  const cases = [
    ['alg none', (p) => ({ ...p, signWith: 'none' }), 'oidc-algorithm-rejected'],
    ['HS256 signed with the client secret (algorithm confusion)', (p) => ({ ...p, signWith: 'client-secret' }), 'oidc-algorithm-rejected'],
    ['a foreign key under the real kid', (p) => ({ ...p, signWith: foreign }), 'oidc-signature-invalid'],
    ['a foreign key with an unknown kid', (p) => ({ ...p, header: { ...p.header, kid: unknownKid.kid }, signWith: unknownKid }), 'oidc-signing-key-unknown'],
    ['wrong iss', (p) => ({ ...p, claims: { ...p.claims, iss: 'https://evil.example.com' } }), 'oidc-issuer-mismatch'],
    ['wrong aud', (p) => ({ ...p, claims: { ...p.claims, aud: 'another-client' } }), 'oidc-audience-mismatch'],
    ['several audiences, authorized party another client', (p) => ({ ...p, claims: { ...p.claims, aud: [CLIENT_ID, 'another-client'], azp: 'another-client' } }), 'oidc-audience-mismatch'],
    ['bad nonce', (p) => ({ ...p, claims: { ...p.claims, nonce: 'not-the-nonce-we-sent' } }), 'oidc-nonce-mismatch'],
    ['no nonce (one was sent, so it is required)', (p) => ({ ...p, claims: Object.fromEntries(Object.entries(p.claims).filter(([k]) => k !== 'nonce')) }), 'oidc-claim-missing'],
    ['expired', (p) => ({ ...p, claims: { ...p.claims, iat: Math.floor(Date.now() / 1000) - 7200, exp: Math.floor(Date.now() / 1000) - 3600 } }), 'oidc-token-expired'],
    ['not valid yet (nbf in an hour)', (p) => ({ ...p, claims: { ...p.claims, nbf: Math.floor(Date.now() / 1000) + 3600 } }), 'oidc-token-not-yet-valid'],
    ['no sub', (p) => ({ ...p, claims: Object.fromEntries(Object.entries(p.claims).filter(([k]) => k !== 'sub')) }), 'oidc-claim-missing'],
    ['sub not a string', (p) => ({ ...p, claims: { ...p.claims, sub: 42 } }), 'oidc-claim-missing'],
    ['no exp', (p) => ({ ...p, claims: Object.fromEntries(Object.entries(p.claims).filter(([k]) => k !== 'exp')) }), 'oidc-claim-missing'],
  ] satisfies [string, (p: TokenPlan) => TokenPlan, string][];
  for (const [name, plan, code] of cases) {
    t.test(name, async (t) => {
      s.server.plan = plan;
      t.teardown(() => {
        s.server.plan = (p) => p;
      });
      await s.expectRejected(t, async () => (await s.login()).res, code);
    });
  }

  t.test('the authorization server advertising alg none does not make it acceptable', async (t) => {
    const lenient = await oidcScenario(t);
    lenient.server.discoveryExtra = { id_token_signing_alg_values_supported: ['RS256', 'none'] };
    lenient.server.plan = (p) => ({ ...p, signWith: 'none' });
    await lenient.expectRejected(t, async () => (await lenient.login()).res, 'oidc-algorithm-rejected');
  });
});

t.test('state, binding and the authorization response', async (t) => {
  const s = await oidcScenario(t);

  t.test('an unknown state is refused', async (t) => {
    const { callbackUrl, jar } = await s.start();
    callbackUrl.searchParams.set('state', 'a'.repeat(43));
    await s.expectRejected(t, () => s.callback(callbackUrl, jar), 'oidc-state-invalid');
  });

  t.test('a callback without state is refused', async (t) => {
    const { callbackUrl, jar } = await s.start();
    callbackUrl.searchParams.delete('state');
    await s.expectRejected(t, () => s.callback(callbackUrl, jar), 'oidc-state-missing');
  });

  t.test('a replayed callback is refused (the state was consumed)', async (t) => {
    const { legs, res } = await s.login();
    t.equal(res.statusCode, 302);
    await s.expectRejected(t, () => s.callback(legs.callbackUrl, legs.jar), 'oidc-state-invalid');
  });

  t.test('a callback from another browser (login CSRF) is refused', async (t) => {
    const { callbackUrl } = await s.start();
    await s.expectRejected(t, () => s.callback(callbackUrl, new CookieJar()), 'login-not-bound');
  });

  t.test("a state of one IdP at another IdP's callback is refused", async (t) => {
    await createIdp(s.gw.app, { ...oidcTestIdp(s.server), id: 'entra-two', name: 'Second' });
    const { callbackUrl, jar } = await s.start();
    await s.expectRejected(t, () => s.callback(`${s.gw.runtime.config.publicUrl}/sso/entra-two/oidc/callback${callbackUrl.search}`, jar), 'oidc-state-wrong-idp');
  });

  t.test('a mix-up (iss parameter of another issuer) is refused', async (t) => {
    const { callbackUrl, jar } = await s.start();
    callbackUrl.searchParams.set('iss', 'https://evil.example.com');
    await s.expectRejected(t, () => s.callback(callbackUrl, jar), 'oidc-issuer-mismatch');
  });

  t.test('an error response from the IdP is refused and recorded', async (t) => {
    const { callbackUrl, jar } = await s.start();
    const denied = new URL(callbackUrl);
    denied.search = '';
    denied.searchParams.set('error', 'access_denied');
    denied.searchParams.set('error_description', '<script>alert(1)</script> call 555-0100');
    denied.searchParams.set('state', callbackUrl.searchParams.get('state') ?? '');
    const res = await s.expectRejected(t, () => s.callback(denied, jar), 'oidc-error-response');
    t.notMatch(res.body, /script|555-0100/, 'the free-text description is neither shown nor echoed');
  });

  t.test('a tampered code fails at the token endpoint', async (t) => {
    const { callbackUrl, jar } = await s.start();
    callbackUrl.searchParams.set('code', 'forged-code');
    await s.expectRejected(t, () => s.callback(callbackUrl, jar), 'oidc-token-request-failed');
  });
});

t.test("Atlassian's callback path", async (t) => {
  const s = await oidcScenario(t, { idp: { 'atlassian-callback-paths': true } });
  const { legs, res } = await s.login({ returnTo: '/x' });
  t.equal(s.server.lastAuthorization?.redirectUri, `${s.gw.runtime.config.publicUrl}/plugins/servlet/oidc/callback`);
  t.equal(legs.callbackUrl.pathname, '/plugins/servlet/oidc/callback');
  t.equal(res.statusCode, 302, res.body.slice(0, 300));
  t.equal((await usersIn(s.gw.runtime)).length, 1);
  const again = await s.start();
  const perIdp = `${s.gw.runtime.config.publicUrl}/sso/entra/oidc/callback${again.callbackUrl.search}`;
  await s.expectRejected(t, () => s.callback(perIdp, again.jar), 'oidc-redirect-uri-mismatch');
});

t.test('claims come from the ID token; userinfo only completes the username (as Atlassian does)', async (t) => {
  t.test('a username claim missing from the ID token is taken from userinfo', async (t) => {
    const s = await oidcScenario(t, { idp: { 'username-claim': '${upn}' } });
    s.server.userinfoExtra = { upn: 'alice.upn@example.com' };
    const { res } = await s.login();
    t.equal(res.statusCode, 302, res.body.slice(0, 300));
    t.match((await usersIn(s.gw.runtime))[0], { username: 'alice.upn@example.com', email: 'alice@example.com' });
  });
  t.test('userinfo is not used for the JIT mappings', async (t) => {
    const s = await oidcScenario(t, { jit: { 'mapping-email': '${work_email}' } });
    s.server.userinfoExtra = { work_email: 'from-userinfo@example.com' };
    await s.expectRejected(t, async () => (await s.login()).res, 'claim-missing');
  });
  t.test('a username claim named like an Object.prototype member is an own claim or missing, never inherited', async (t) => {
    const s = await oidcScenario(t, { idp: { 'username-claim': '${constructor}' } });
    s.server.userinfoExtra = { constructor: 'proto.user' };
    const { res } = await s.login();
    t.equal(res.statusCode, 302, res.body.slice(0, 300));
    t.match((await usersIn(s.gw.runtime))[0], { username: 'proto.user' }, 'taken from userinfo like any missing claim');
    const none = await oidcScenario(t, { idp: { 'username-claim': '${toString}' } });
    await none.expectRejected(t, async () => (await none.login()).res, 'claim-missing');
  });
  t.test('userinfo cannot override a claim of the ID token', async (t) => {
    const s = await oidcScenario(t);
    s.server.userinfoExtra = { preferred_username: 'admin', email: 'admin@example.com' };
    t.equal((await s.login()).res.statusCode, 302);
    t.match((await usersIn(s.gw.runtime))[0], { username: 'alice', email: 'alice@example.com' });
  });
});
