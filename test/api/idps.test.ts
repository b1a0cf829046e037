/** IdP configuration CRUD: /rest/authconfig/1.0/idps[/{id}]. */
import t, { type Test } from 'tap';
import { TEST_IDP_CERT, oidcIdp, samlIdp, samlLogin } from '../support/fixtures.js';
import { AUTHCONFIG, startApi, testClock, type Api } from './fixtures/api.js';

const IDPS = `${AUTHCONFIG}/idps`;
const SECRET = 'super-secret-value';

const JIT_DEFAULTS = {
  'additional-groups': [],
  'group-sync': 'replace',
  'link-existing-users': false,
  'on-missing-attribute': 'reject',
};

/** Fails when an answer carries the OIDC client secret in any form. */
function noSecret(t: Test, body: string, what: string) {
  t.notMatch(body, SECRET, `${what}: the secret value is not answered`);
  t.notMatch(body, /"client-secret"/, `${what}: no client-secret field`);
}

async function expectRefused(t: Test, api: Api, request: () => ReturnType<Api['post']>, status: number, error: string) {
  const before = await api.head();
  const res = await request();
  t.equal(res.statusCode, status, res.body);
  t.equal(res.json().error, error);
  t.type(res.json().message, 'string');
  t.equal(await api.head(), before, 'nothing was written');
  return res.json();
}

t.test('create a SAML IdP: 201, Location, defaults made explicit', async (t) => {
  const clock = testClock();
  const api = await startApi(t, {}, { now: clock.now });
  const res = await api.post(IDPS, samlIdp());
  t.equal(res.statusCode, 201, res.body);
  t.equal(res.headers['location'], `${IDPS}/okta`);
  t.strictSame(res.json(), {
    id: 'okta',
    name: 'Okta (SAML)',
    'sso-type': 'SAML',
    enabled: true,
    'jit-configuration': {
      'user-provisioning-enabled': true,
      'mapping-display-name': '${displayName}',
      'mapping-email': '${email}',
      'mapping-groups': 'groups',
      ...JIT_DEFAULTS,
    },
    'last-updated': clock.iso(),
    'sso-url': 'https://idp.example.com/sso/saml',
    'sso-issuer': 'https://idp.example.com/metadata',
    certificate: TEST_IDP_CERT.replace(/\r\n/g, '\n').trim() + '\n',
    'required-signatures': 'both',
  });
  const got = await api.get(`${IDPS}/okta`);
  t.equal(got.statusCode, 200);
  t.same(got.json(), res.json(), 'GET answers what POST answered');

  const minimal = await api.post(`${AUTHCONFIG.replace('1.0', 'latest')}/idps`, {
    id: 'bare',
    name: 'Bare',
    'sso-type': 'SAML',
    'sso-url': 'https://bare.example.com/sso',
    'sso-issuer': 'bare',
    // base64 DER without the PEM armour is accepted and stored as PEM
    certificate: TEST_IDP_CERT.replace(/-----[A-Z ]+-----|\s/g, ''),
  });
  t.equal(minimal.statusCode, 201, minimal.body);
  t.equal(minimal.headers['location'], '/rest/authconfig/latest/idps/bare');
  t.strictSame(minimal.json()['jit-configuration'], { 'user-provisioning-enabled': false, ...JIT_DEFAULTS });
  t.equal(minimal.json().certificate, res.json().certificate);
});

t.test('create an OIDC IdP: the client secret is never answered', async (t) => {
  const api = await startApi(t);
  const res = await api.post(IDPS, oidcIdp());
  t.equal(res.statusCode, 201, res.body);
  t.equal(res.headers['location'], `${IDPS}/entra`);
  noSecret(t, res.body, 'POST');
  t.match(res.json(), {
    id: 'entra',
    'sso-type': 'OIDC',
    enabled: true,
    'issuer-url': 'https://login.example.com/tenant/v2.0',
    'client-id': 'jit-client',
    'client-secret-set': true,
    'discovery-enabled': true,
    'username-claim': '${preferred_username}',
    'jit-configuration': { 'user-provisioning-enabled': true, ...JIT_DEFAULTS },
  });
  noSecret(t, (await api.get(`${IDPS}/entra`)).body, 'GET');
  noSecret(t, (await api.get(IDPS)).body, 'list');
  noSecret(t, (await api.get(`${IDPS}?limit=-1`)).body, 'list limit=-1');
  const patched = await api.patch(`${IDPS}/entra`, { name: 'Renamed', 'client-secret': 'another-secret-value' });
  t.equal(patched.statusCode, 200);
  noSecret(t, patched.body, 'PATCH');
  t.notMatch(patched.body, 'another-secret-value');
  t.equal(patched.json()['client-secret-set'], true);
  const test = await api.post(`${IDPS}/entra/jit-test`, { claims: { sub: 'x', preferred_username: 'x', name: 'X', email: 'x@example.com', groups: [] } });
  t.equal(test.statusCode, 200);
  noSecret(t, test.body, 'jit-test');
  const refused = await api.post(IDPS, oidcIdp());
  noSecret(t, refused.body, '409');
  const invalid = await api.post(IDPS, oidcIdp({ id: 'other', 'issuer-url': 'http://insecure.example.com' }));
  noSecret(t, invalid.body, '400');
  const history = await api.events('IdpUpdated');
  t.equal(history.length, 1, 'the secret change is an event');
});

t.test('an id is generated from the name when none is given', async (t) => {
  const api = await startApi(t);
  const { id: _omit, ...input } = samlIdp({ name: 'My Okta!' });
  const first = await api.post(IDPS, input);
  t.equal(first.statusCode, 201);
  t.equal(first.json().id, 'my-okta');
  const second = await api.post(IDPS, input);
  t.equal(second.statusCode, 201);
  t.match(second.json().id, /^my-okta-[0-9a-f]{8}$/);
  t.equal(second.headers['location'], `${IDPS}/${second.json().id}`);
});

t.test('validation errors name their fields and write nothing', async (t) => {
  const api = await startApi(t);
  const { 'sso-url': _u, certificate: _c, ...noUrlNoCert } = samlIdp();
  const missing = await expectRefused(t, api, () => api.post(IDPS, noUrlNoCert), 400, 'invalid-idp');
  t.same(missing.problems.map((p: { field: string; code: string }) => [p.field, p.code]), [
    ['sso-url', 'required'],
    ['certificate', 'required'],
  ]);
  t.match(missing.message, /sso-url is required/);

  const badCert = await expectRefused(t, api, () => api.post(IDPS, samlIdp({ certificate: 'MIIBnotacertificate' })), 400, 'invalid-idp');
  t.match(badCert.problems, [{ field: 'certificate', code: 'invalid-certificate' }]);
  const garbage = await expectRefused(t, api, () => api.post(IDPS, samlIdp({ certificate: '-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----' })), 400, 'invalid-idp');
  t.match(garbage.problems, [{ field: 'certificate' }]);

  const http = await expectRefused(t, api, () => api.post(IDPS, oidcIdp({ 'issuer-url': 'http://localhost:8180/realms/test' })), 400, 'invalid-idp');
  t.match(http.problems, [{ field: 'issuer-url', code: 'insecure-url' }]);
  t.match(http.message, /allow-insecure-http/);
  const allowed = await api.post(IDPS, oidcIdp({ 'issuer-url': 'http://localhost:8180/realms/test', 'allow-insecure-http': true }));
  t.equal(allowed.statusCode, 201, 'http is allowed with the explicit opt-in');

  const notUrl = await expectRefused(t, api, () => api.post(IDPS, samlIdp({ id: 'x', 'sso-url': 'not a url' })), 400, 'invalid-idp');
  t.match(notUrl.problems, [{ field: 'sso-url', code: 'invalid-url' }]);

  const { 'client-secret': _s, ...noSecretInput } = oidcIdp({ id: 'nosecret' });
  const noClientSecret = await expectRefused(t, api, () => api.post(IDPS, noSecretInput), 400, 'invalid-idp');
  t.match(noClientSecret.problems, [{ field: 'client-secret', code: 'required' }]);

  const mixed = await expectRefused(t, api, () => api.post(IDPS, { ...samlIdp({ id: 'mixed' }), 'client-id': 'abc' }), 400, 'invalid-idp');
  t.match(mixed.problems, [{ field: 'client-id', code: 'not-applicable' }]);

  const noEmail = await expectRefused(t, api, () => api.post(IDPS, samlIdp({ id: 'noemail' }, { 'mapping-email': ' ' })), 400, 'invalid-idp');
  t.match(noEmail.problems, [{ field: 'jit-configuration.mapping-email', code: 'required' }]);

  const blankGroup = await expectRefused(t, api, () => api.post(IDPS, samlIdp({ id: 'blank' }, { 'additional-groups': ['  '] })), 400, 'invalid-idp');
  t.match(blankGroup.problems, [{ field: 'jit-configuration.additional-groups', code: 'invalid-group' }]);

  const schema = await expectRefused(t, api, () => api.post(IDPS, { 'sso-type': 'SAML' }), 400, 'invalid-request');
  t.match(schema.message, /name/);
  const type = await expectRefused(t, api, () => api.post(IDPS, { ...samlIdp({ id: 'ldap' }), 'sso-type': 'LDAP' }), 400, 'invalid-request');
  t.match(type.message, /sso-type/);
  const unknown = await expectRefused(t, api, () => api.post(IDPS, { ...samlIdp({ id: 'extra' }), colour: 'blue' }), 400, 'invalid-request');
  t.match(unknown.message, /colour/);
  const badId = await expectRefused(t, api, () => api.post(IDPS, samlIdp({ id: 'Has Spaces' })), 400, 'invalid-request');
  t.match(badId.message, /id/);
});

t.test('invalid mapping expressions: 400 invalid-mapping with positions', async (t) => {
  const api = await startApi(t);
  const cases: [string, Record<string, string>, { field: string; code: string; position: number }[]][] = [
    ['unclosed', { 'mapping-display-name': 'Name: ${givenName' }, [{ field: 'jit-configuration.mapping-display-name', code: 'unclosed-variable', position: 6 }]],
    ['brace without $', { 'mapping-email': 'a{b}' }, [
      { field: 'jit-configuration.mapping-email', code: 'unexpected-open-brace', position: 1 },
      { field: 'jit-configuration.mapping-email', code: 'unmatched-close-brace', position: 3 },
    ]],
    ['empty', { 'mapping-display-name': '${}' }, [{ field: 'jit-configuration.mapping-display-name', code: 'empty-variable', position: 0 }]],
    ['stray }', { 'mapping-display-name': 'x}' }, [{ field: 'jit-configuration.mapping-display-name', code: 'unmatched-close-brace', position: 1 }]],
    ['nested', { 'mapping-display-name': '${a${b}}' }, [{ field: 'jit-configuration.mapping-display-name', code: 'nested-variable', position: 3 }]],
    ['unknown filter', { 'mapping-email': '${email | nope}' }, [{ field: 'jit-configuration.mapping-email', code: 'unknown-filter', position: 10 }]],
    ['groups is a plain name', { 'mapping-groups': '${groups}' }, [
      { field: 'jit-configuration.mapping-groups', code: 'not-supported', position: 0 },
      { field: 'jit-configuration.mapping-groups', code: 'not-supported', position: 8 },
    ]],
  ];
  for (const [label, jit, problems] of cases) {
    const body = await expectRefused(t, api, () => api.post(IDPS, samlIdp({}, jit)), 400, 'invalid-mapping');
    t.match(body.problems, problems, label);
    t.equal(body.problems.length, problems.length, label);
  }
  const username = await expectRefused(t, api, () => api.post(IDPS, samlIdp({ 'username-attribute': '${NameID' })), 400, 'invalid-mapping');
  t.match(username.problems, [{ field: 'username-attribute', position: 0 }]);
  const claim = await expectRefused(t, api, () => api.post(IDPS, oidcIdp({ 'username-claim': 'x}' })), 400, 'invalid-mapping');
  t.match(claim.problems, [{ field: 'username-claim', position: 1 }]);
  // Filters and literal text are fine.
  const good = await api.post(IDPS, samlIdp({}, { 'mapping-email': '${email | lower}', 'mapping-display-name': 'Dr. ${sn | upper}' }));
  t.equal(good.statusCode, 201, good.body);
});

t.test('a duplicate id is 409', async (t) => {
  const api = await startApi(t);
  await api.createIdp(samlIdp());
  const body = await expectRefused(t, api, () => api.post(IDPS, samlIdp({ name: 'Another' })), 409, 'idp-exists');
  t.match(body.message, /okta/);
  const other = await expectRefused(t, api, () => api.post(IDPS, oidcIdp({ id: 'okta' })), 409, 'idp-exists');
  t.ok(other);
  t.equal((await api.get(`${IDPS}/okta`)).json().name, 'Okta (SAML)', 'the stored IdP is untouched');
});

t.test('concurrent creates of one id: one 201, the rest 409', async (t) => {
  const api = await startApi(t);
  const answers = await Promise.all(Array.from({ length: 5 }, (_, i) => api.post(IDPS, samlIdp({ name: `Okta ${i}` }))));
  t.same(answers.map((r) => r.statusCode).sort(), [201, 409, 409, 409, 409]);
  t.same(answers.filter((r) => r.statusCode === 409).map((r) => r.json().error), Array(4).fill('idp-exists'));
  t.equal((await api.events('IdpCreated')).length, 1);
  const winner = answers.find((r) => r.statusCode === 201)!.json().name;
  t.equal((await api.get(`${IDPS}/okta`)).json().name, winner);
});

t.test('PATCH merges jit-configuration field by field', async (t) => {
  const clock = testClock();
  const api = await startApi(t, {}, { now: clock.now });
  await api.createIdp(samlIdp({}, { 'additional-groups': ['all-staff'], 'group-sync': 'managed' }));
  clock.advance(5000);
  const res = await api.patch(`${IDPS}/okta`, { name: 'Okta Prod', 'jit-configuration': { 'mapping-email': '${mail | lower}' } });
  t.equal(res.statusCode, 200, res.body);
  t.strictSame(res.json()['jit-configuration'], {
    'user-provisioning-enabled': true,
    'mapping-display-name': '${displayName}',
    'mapping-email': '${mail | lower}',
    'mapping-groups': 'groups',
    'additional-groups': ['all-staff'],
    'group-sync': 'managed',
    'link-existing-users': false,
    'on-missing-attribute': 'reject',
  });
  t.equal(res.json().name, 'Okta Prod');
  t.equal(res.json()['sso-url'], 'https://idp.example.com/sso/saml', 'untouched fields stay');
  t.equal(res.json()['last-updated'], clock.iso());
  t.same((await api.get(`${IDPS}/okta`)).json(), res.json());
  const [updated] = await api.events('IdpUpdated');
  t.same((updated!.data as { changed: string[] }).changed, ['jit-configuration', 'name']);

  const lists = await api.patch(`${IDPS}/okta`, { 'jit-configuration': { 'additional-groups': [] } });
  t.same(lists.json()['jit-configuration']['additional-groups'], [], 'arrays are replaced, not merged');
  t.equal(lists.json()['jit-configuration']['group-sync'], 'managed');

  const disabled = await api.patch(`${AUTHCONFIG.replace('1.0', 'latest')}/idps/okta`, { enabled: false });
  t.equal(disabled.json().enabled, false);
  const login = await api.login(samlLogin('alice'));
  t.equal(login.json().reason, 'idp-disabled', 'the change applies to the next login');
});

t.test('a PATCH that changes nothing writes no event', async (t) => {
  const clock = testClock();
  const api = await startApi(t, {}, { now: clock.now });
  await api.createIdp(samlIdp());
  await api.createIdp(oidcIdp());
  const lastUpdated = clock.iso();
  clock.advance(5000);
  const before = await api.head();
  for (const [id, patch] of [
    ['okta', { name: 'Okta (SAML)' }],
    ['okta', { id: 'okta' }],
    ['okta', { 'jit-configuration': {} }],
    ['okta', { 'jit-configuration': { 'group-sync': 'replace' } }],
    ['okta', { enabled: true, certificate: TEST_IDP_CERT.replace(/-----[A-Z ]+-----|\s/g, '') }],
    ['entra', { 'client-secret': SECRET }],
  ] as const) {
    const res = await api.patch(`${IDPS}/${id}`, patch);
    t.equal(res.statusCode, 200, JSON.stringify(patch));
    t.equal(res.json()['last-updated'], lastUpdated);
  }
  t.equal(await api.head(), before);
});

t.test('PATCH refusals write nothing', async (t) => {
  const api = await startApi(t);
  await api.createIdp(samlIdp());
  await expectRefused(t, api, () => api.patch(`${IDPS}/nope`, { name: 'x' }), 404, 'idp-not-found');
  await expectRefused(t, api, () => api.patch(`${IDPS}/okta`, {}), 400, 'invalid-request');
  await expectRefused(t, api, () => api.patch(`${IDPS}/okta`, { id: 'other' }), 400, 'invalid-idp');
  await expectRefused(t, api, () => api.patch(`${IDPS}/okta`, { 'sso-url': 'ftp://x' }), 400, 'invalid-idp');
  await expectRefused(t, api, () => api.patch(`${IDPS}/okta`, { 'jit-configuration': { 'mapping-email': '${' } }), 400, 'invalid-mapping');
  await expectRefused(t, api, () => api.patch(`${IDPS}/okta`, { 'jit-configuration': { colour: 'x' } }), 400, 'invalid-request');
  const switched = await expectRefused(t, api, () => api.patch(`${IDPS}/okta`, { 'sso-type': 'OIDC' }), 400, 'invalid-idp');
  t.ok(switched.problems.some((p: { field: string }) => p.field === 'client-id'));
  t.equal((await api.get(`${IDPS}/okta`)).json()['sso-url'], 'https://idp.example.com/sso/saml');
});

t.test('DELETE, then GET is 404; the id can be used again', async (t) => {
  const api = await startApi(t);
  await api.createIdp(samlIdp());
  await api.loginOk(samlLogin('alice'));
  const res = await api.del(`${IDPS}/okta`);
  t.equal(res.statusCode, 204);
  t.equal(res.body, '');
  const gone = await api.get(`${IDPS}/okta`);
  t.equal(gone.statusCode, 404);
  t.same(gone.json(), { error: 'idp-not-found', message: 'No IdP with id okta' });
  await expectRefused(t, api, () => api.del(`${IDPS}/okta`), 404, 'idp-not-found');
  await expectRefused(t, api, () => api.patch(`${IDPS}/okta`, { name: 'x' }), 404, 'idp-not-found');
  await expectRefused(t, api, () => api.login(samlLogin('bob')), 404, 'idp-not-found');
  t.same((await api.get(IDPS)).json().results, []);
  t.equal((await api.get(`${AUTHCONFIG}/jit-users/alice`)).statusCode, 200, 'its users stay');
  const again = await api.post(IDPS, samlIdp({ name: 'Okta again' }));
  t.equal(again.statusCode, 201, again.body);
  t.equal((await api.get(`${IDPS}/okta`)).json().name, 'Okta again');
});

t.test('list: Atlassian paging', async (t) => {
  const api = await startApi(t);
  for (const id of ['delta', 'alpha', 'charlie', 'bravo', 'echo']) await api.createIdp(samlIdp({ id, name: id.toUpperCase() }));
  const ids = (body: { results: { id: string }[] }) => body.results.map((r) => r.id);

  const all = await api.get(IDPS);
  t.equal(all.statusCode, 200);
  t.same(Object.keys(all.json()).sort(), ['isLastPage', 'limit', 'results', 'size', 'start']);
  t.match(all.json(), { isLastPage: true, limit: 50, size: 5, start: 0 });
  t.same(ids(all.json()), ['alpha', 'bravo', 'charlie', 'delta', 'echo']);

  const first = (await api.get(`${IDPS}?limit=2`)).json();
  t.match(first, { isLastPage: false, limit: 2, size: 2, start: 0 });
  t.same(ids(first), ['alpha', 'bravo']);
  const middle = (await api.get(`${IDPS}?start=2&limit=2`)).json();
  t.match(middle, { isLastPage: false, size: 2, start: 2 });
  t.same(ids(middle), ['charlie', 'delta']);
  const last = (await api.get(`${IDPS}?start=4&limit=2`)).json();
  t.match(last, { isLastPage: true, size: 1, start: 4 });
  t.same(ids(last), ['echo']);
  const everything = (await api.get(`${IDPS}?limit=-1`)).json();
  t.match(everything, { isLastPage: true, limit: -1, size: 5, start: 0 });
  const rest = (await api.get(`${IDPS}?start=3&limit=-1`)).json();
  t.same(ids(rest), ['delta', 'echo']);
  const beyond = (await api.get(`${IDPS}?start=10`)).json();
  t.match(beyond, { isLastPage: true, size: 0, start: 10, results: [] });

  for (const query of ['limit=0', 'limit=-2', 'limit=1001', 'start=-1', 'limit=abc', 'colour=blue']) {
    const res = await api.get(`${IDPS}?${query}`);
    t.equal(res.statusCode, 400, query);
    t.equal(res.json().error, 'invalid-request', query);
  }
});

t.test('unknown and malformed ids', async (t) => {
  const api = await startApi(t);
  const unknown = await api.get(`${IDPS}/nope`);
  t.equal(unknown.statusCode, 404);
  t.equal(unknown.json().error, 'idp-not-found');
  const long = await api.get(`${IDPS}/${'a'.repeat(64)}`);
  t.equal(long.statusCode, 400);
  t.equal(long.json().error, 'invalid-request');
});
