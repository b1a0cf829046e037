/**
 * End to end against the real Keycloak of deploy/keycloak (realm jit): the app listens on
 * JIT_E2E_PUBLIC_URL (127.0.0.1:18080), the Keycloak login form is driven over HTTP through both
 * protocols, and users are changed through Keycloak's admin API between logins. Fails (never
 * skips) when Keycloak is not running: start it with `make keycloak-up`.
 *
 * One file for both protocols: they share the port the realm's redirect URIs name, and alice.
 */
import t, { type Test } from 'tap';
import type { IdpInput, UserUpdated } from '../../schemas/types.gen.js';
import { allEvents, createIdp, startGatewayApp, usersIn, type GatewayApp } from '../support/gatewayHarness.js';
import {
  Browser,
  E2E_PUBLIC_URL,
  KeycloakAdmin,
  location,
  REALM_URL,
  requireKeycloak,
  samlPostForm,
  samlSigningCertificate,
  submitLogin,
} from '../support/keycloak.js';

await requireKeycloak();
const keycloak = await KeycloakAdmin.connect();
const certificate = await samlSigningCertificate();
const port = Number(new URL(E2E_PUBLIC_URL).port || '80');

const ALICE = { email: 'alice@example.com', groups: ['developers', 'jira-users'] };
// Tests may run again against the same Keycloak: put alice back whatever happens.
const restoreAlice = async () => {
  await keycloak.setEmail('alice', ALICE.email);
  await keycloak.setGroups('alice', ALICE.groups);
};
await restoreAlice();
t.teardown(restoreAlice);

const jit = (extra: IdpInput['jit-configuration'] = {}): IdpInput['jit-configuration'] => ({
  'user-provisioning-enabled': true,
  'mapping-display-name': '${displayName}',
  'mapping-email': '${email}',
  'mapping-groups': 'groups',
  ...extra,
});

const samlSpEntityId = `${E2E_PUBLIC_URL}/sso/kc-saml/saml/metadata`;
const SAML_IDPS: IdpInput[] = [
  { id: 'kc-saml', name: 'Keycloak (SAML)', 'sso-type': 'SAML', 'sso-url': `${REALM_URL}/protocol/saml`, 'sso-issuer': REALM_URL, certificate, 'jit-configuration': jit() },
  {
    // Same Keycloak client (entity id), Atlassian's consumer path, no provisioning.
    id: 'kc-saml-noprov',
    name: 'Keycloak (SAML, no provisioning)',
    'sso-type': 'SAML',
    'sso-url': `${REALM_URL}/protocol/saml`,
    'sso-issuer': REALM_URL,
    certificate,
    'sp-entity-id': samlSpEntityId,
    'atlassian-callback-paths': true,
    'jit-configuration': { 'user-provisioning-enabled': false },
  },
];
const oidc = (id: string, extra: Partial<IdpInput>): IdpInput => ({
  id,
  name: `Keycloak (OIDC) ${id}`,
  'sso-type': 'OIDC',
  'issuer-url': REALM_URL,
  'client-id': 'jit-oidc',
  'client-secret': 'jit-oidc-secret',
  'allow-insecure-http': true,
  'username-claim': '${preferred_username}',
  ...extra,
});
const OIDC_IDPS: IdpInput[] = [
  oidc('kc-oidc', { 'additional-scopes': ['profile'], 'jit-configuration': jit({ 'mapping-display-name': '${name}', 'additional-openid-scopes': ['email'] }) }),
  oidc('kc-oidc-noprov', { 'atlassian-callback-paths': true, 'jit-configuration': { 'user-provisioning-enabled': false } }),
];

async function listeningApp(t: Test, idps: readonly IdpInput[]): Promise<GatewayApp> {
  const gw = await startGatewayApp(t, { env: { JIT_PUBLIC_URL: E2E_PUBLIC_URL, JIT_ADMIN_GROUPS: 'developers' } });
  for (const idp of idps) await createIdp(gw.app, idp);
  await gw.app.listen({ host: '127.0.0.1', port });
  return gw;
}

/** The whole browser journey; answers our app's final response (after Keycloak). */
async function browserLogin(protocol: 'saml' | 'oidc', idpId: string, username: string, returnTo: string): Promise<{ browser: Browser; final: Response; consumer: string }> {
  const browser = new Browser();
  const start = await browser.request(`${E2E_PUBLIC_URL}/sso/${idpId}/login?returnTo=${encodeURIComponent(returnTo)}`);
  if (start.status !== 302) throw new Error(`login start: ${start.status} ${await start.text()}`);
  const atIdp = location(start);
  if (!atIdp.startsWith(REALM_URL)) throw new Error(`login start went to ${atIdp}`);
  const afterForm = await submitLogin(browser, atIdp, username, `${username}-pw`);
  if (protocol === 'saml') {
    if (afterForm.status !== 200) throw new Error(`Keycloak SAML login: ${afterForm.status}`);
    const form = samlPostForm(await afterForm.text());
    const final = await browser.request(form.action, { form: { SAMLResponse: form.SAMLResponse, ...(form.RelayState ? { RelayState: form.RelayState } : {}) } });
    return { browser, final, consumer: form.action };
  }
  if (afterForm.status !== 302) throw new Error(`Keycloak OIDC login: ${afterForm.status} ${(await afterForm.text()).slice(0, 300)}`);
  const callback = location(afterForm);
  const final = await browser.request(callback);
  return { browser, final, consumer: callback.split('?')[0] ?? '' };
}

async function sessionOf(browser: Browser): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await browser.request(`${E2E_PUBLIC_URL}/sso/session`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

for (const protocol of ['saml', 'oidc'] as const) {
  t.test(`${protocol.toUpperCase()} through Keycloak`, async (t) => {
    const gw = await listeningApp(t, protocol === 'saml' ? SAML_IDPS : OIDC_IDPS);
    const idpId = `kc-${protocol}`;

    t.test('first login provisions alice with the mapped fields; session cookie and redirect', async (t) => {
      const { browser, final, consumer } = await browserLogin(protocol, idpId, 'alice', '/after-login?x=1');
      t.equal(consumer, protocol === 'saml' ? `${E2E_PUBLIC_URL}/sso/kc-saml/saml/acs` : `${E2E_PUBLIC_URL}/sso/kc-oidc/oidc/callback`);
      t.equal(final.status, 302, 'the consumer redirects');
      t.equal(final.headers.get('location'), `${E2E_PUBLIC_URL}/after-login?x=1`, 'to the returnTo');
      const setCookie = final.headers.getSetCookie().find((c) => c.startsWith('jit_session='));
      t.ok(setCookie, 'a session cookie is set');
      t.match(setCookie ?? '', /HttpOnly/i);
      t.match(setCookie ?? '', /SameSite=Lax/i);
      t.notMatch(setCookie ?? '', /Secure/i, 'not Secure on an http public URL');

      const session = await sessionOf(browser);
      t.equal(session.status, 200);
      t.match(session.body, { username: 'alice', 'display-name': 'Alice Liddell', 'idp-id': idpId, protocol, admin: true, 'groups-complete': true });
      t.same([...(session.body['groups'] as string[])].sort(), ALICE.groups);

      const [user, ...others] = await usersIn(gw.runtime);
      t.equal(others.length, 0, 'exactly one user');
      t.match(user, { username: 'alice', displayName: 'Alice Liddell', email: ALICE.email, idpId, active: true });
      t.same([...(user?.groups ?? [])].sort(), ALICE.groups);
      const types = (await allEvents(gw.runtime)).filter((e) => e.streamId.startsWith('user-')).map((e) => e.type);
      t.same(types, ['UserProvisioned', 'UserLoggedIn']);
    });

    t.test('email and groups changed in Keycloak: the next login records UserUpdated with the diff', async (t) => {
      t.teardown(restoreAlice);
      await keycloak.setEmail('alice', 'alice.changed@example.com');
      await keycloak.setGroups('alice', ['jira-users', 'confluence-users']);
      const { browser, final } = await browserLogin(protocol, idpId, 'alice', '/again');
      t.equal(final.status, 302);
      t.equal(final.headers.get('location'), `${E2E_PUBLIC_URL}/again`);
      const updated = (await allEvents(gw.runtime)).filter((e) => e.type === 'UserUpdated');
      t.equal(updated.length, 1, 'one UserUpdated');
      const data = updated[0]?.data as UserUpdated;
      t.same(data.changes, { email: { from: ALICE.email, to: 'alice.changed@example.com' } }, 'only the email changed');
      t.same(data['groups-added'], ['confluence-users']);
      t.same(data['groups-removed'], ['developers']);
      t.equal(data['idp-id'], idpId);
      const [user] = await usersIn(gw.runtime);
      t.match(user, { email: 'alice.changed@example.com' });
      t.same([...(user?.groups ?? [])].sort(), ['confluence-users', 'jira-users']);
      const session = await sessionOf(browser);
      t.equal(session.body['admin'], false, 'no longer in the admin group developers');
    });

    t.test('an IdP without provisioning rejects carol (unknown) and creates nothing', async (t) => {
      const before = await usersIn(gw.runtime);
      const { browser, final, consumer } = await browserLogin(protocol, `kc-${protocol}-noprov`, 'carol', '/nope');
      t.equal(consumer, protocol === 'saml' ? `${E2E_PUBLIC_URL}/plugins/servlet/samlconsumer` : `${E2E_PUBLIC_URL}/plugins/servlet/oidc/callback`, "through Atlassian's path");
      t.equal(final.status, 403);
      t.match(final.headers.get('content-type') ?? '', /text\/html/);
      const page = await final.text();
      t.match(page, /not allowed to create accounts/);
      t.match(page, /provisioning-disabled/);
      t.notMatch(page, /carol/i, 'the page shows no attribute values');
      t.notOk(final.headers.getSetCookie().some((c) => c.startsWith('jit_session=')), 'no session cookie');
      t.equal((await sessionOf(browser)).status, 401);
      t.same((await usersIn(gw.runtime)).map((u) => u.username), before.map((u) => u.username), 'no user created');
      const rejected = (await allEvents(gw.runtime)).filter((e) => e.type === 'LoginRejected');
      t.equal(rejected.length, 1);
      t.match(rejected[0]?.data, { 'idp-id': `kc-${protocol}-noprov`, reason: 'provisioning-disabled', username: 'carol' });
    });
  });
}
