/** GET /sso/idps: the public list behind the "Sign in with …" buttons (enabled IdPs, three fields). */
import t from 'tap';
import { ADMIN_TOKEN, oidcIdp, samlIdp } from '../support/fixtures.js';
import { createIdp, startGatewayApp } from '../support/gatewayHarness.js';

t.test('lists enabled IdPs with id, name and button text only, without a token', async (t) => {
  const { app } = await startGatewayApp(t);
  t.same((await app.inject({ url: '/sso/idps' })).json(), [], 'no IdP yet');

  await createIdp(app, samlIdp({ id: 'okta', name: 'Okta', 'button-text': 'Sign in with Okta' }));
  await createIdp(app, oidcIdp({ id: 'entra', name: 'Entra ID' }));
  await createIdp(app, samlIdp({ id: 'legacy', name: 'Old ADFS', enabled: false }));

  const res = await app.inject({ url: '/sso/idps' });
  t.equal(res.statusCode, 200);
  t.equal(res.headers['cache-control'], 'no-cache');
  const idps = res.json() as Record<string, unknown>[];
  t.same(
    [...idps].sort((a, b) => String(a['id']).localeCompare(String(b['id']))),
    [
      { id: 'entra', name: 'Entra ID', 'button-text': 'Sign in with Entra ID' },
      { id: 'okta', name: 'Okta', 'button-text': 'Sign in with Okta' },
    ],
    'the disabled IdP is left out; a missing button text reads "Sign in with <name>"',
  );
  t.notMatch(res.body, /certificate|BEGIN|client-secret|super-secret|sso-url|issuer|client-id|jit-configuration/, 'no configuration beyond the three fields');

  const patched = await app.inject({ method: 'PATCH', url: '/rest/authconfig/1.0/idps/okta', headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, payload: { enabled: false } });
  t.equal(patched.statusCode, 200);
  t.same(((await app.inject({ url: '/sso/idps' })).json() as { id: string }[]).map((i) => i.id), ['entra'], 'disabling an IdP removes its button');
});
