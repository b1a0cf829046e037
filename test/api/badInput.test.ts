/**
 * Bad input: every malformed request is a 4xx `{ error, message }` and changes nothing. Ends with a
 * fuzz pass (fast-check) over every POST/PATCH route and the list's query string: never a 5xx.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import t, { type Test } from 'tap';
import { oidcIdp, samlIdp, samlLogin } from '../support/fixtures.js';
import { admin, gateway } from '../support/testRuntime.js';
import { AUTHCONFIG, LOGINS, startApi, withDefaultIdps, type Api } from './fixtures/api.js';

const USERS = `${AUTHCONFIG}/jit-users`;
const IDPS = `${AUTHCONFIG}/idps`;

type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
type Route = { method: Method; url: string; headers: Record<string, string>; valid: unknown };

/** The routes that take a body, each with a body it accepts. */
function bodyRoutes(): Route[] {
  return [
    { method: 'POST', url: IDPS, headers: admin, valid: samlIdp({ id: 'fresh' }) },
    { method: 'PATCH', url: `${IDPS}/okta`, headers: admin, valid: { name: 'Renamed' } },
    { method: 'POST', url: `${IDPS}/okta/jit-test`, headers: admin, valid: { 'name-id': 'alice', attributes: {} } },
    { method: 'POST', url: LOGINS, headers: gateway, valid: samlLogin('zoe') },
    { method: 'POST', url: `${USERS}/alice/deactivate`, headers: admin, valid: {} },
    { method: 'POST', url: `${USERS}/alice/reactivate`, headers: admin, valid: {} },
  ];
}

/** A label safe for TAP output: line separators and control characters would break its lines. */
const escaped = (text: string) => text.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

async function seeded(t: Test): Promise<Api> {
  const api = await startApi(t);
  await withDefaultIdps(api);
  await api.loginOk(samlLogin('alice'));
  return api;
}

/** A 4xx with the error shape, and the store where it was. */
function assertRefused(t: Test, res: LightMyRequestResponse, label: string, status?: number | number[], error?: string): void {
  const statuses = status === undefined ? undefined : ([] as number[]).concat(status);
  if (statuses) t.ok(statuses.includes(res.statusCode), `${label}: status ${res.statusCode} is one of ${statuses.join('/')} (${res.body.slice(0, 200)})`);
  else t.ok(res.statusCode >= 400 && res.statusCode < 500, `${label}: a 4xx, got ${res.statusCode}`);
  t.match(res.headers['content-type'], /^application\/json/, `${label}: JSON`);
  const body = res.json<Record<string, unknown>>();
  t.type(body['error'], 'string', `${label}: error code`);
  t.type(body['message'], 'string', `${label}: message`);
  if (error) t.equal(body['error'], error, label);
}

async function refusedWithoutWriting(t: Test, api: Api, label: string, request: () => Promise<LightMyRequestResponse>, status?: number | number[], error?: string) {
  const before = await api.head();
  const res = await request();
  assertRefused(t, res, label, status, error);
  t.equal(await api.head(), before, `${label}: nothing was written`);
  return res;
}

t.test('malformed bodies', async (t) => {
  const api = await seeded(t);
  for (const route of bodyRoutes()) {
    const name = `${route.method} ${route.url}`;
    const raw = (payload: string, contentType = 'application/json') =>
      api.app.inject({ method: route.method, url: route.url, headers: { ...route.headers, 'content-type': contentType }, payload });
    await refusedWithoutWriting(t, api, `${name} malformed JSON`, () => raw('{"name": '), 400, 'invalid-json');
    await refusedWithoutWriting(t, api, `${name} trailing garbage`, () => raw('{} x'), 400, 'invalid-json');
    await refusedWithoutWriting(t, api, `${name} empty JSON body`, () => raw(''), 400, 'invalid-json');
    await refusedWithoutWriting(t, api, `${name} XML`, () => raw('<idp/>', 'application/xml'), 415, 'unsupported-media-type');
    await refusedWithoutWriting(t, api, `${name} text`, () => raw('hello', 'text/plain'), [400, 415]);
    await refusedWithoutWriting(t, api, `${name} a form`, () => raw('name=x', 'application/x-www-form-urlencoded'), [400, 415]);
    for (const json of ['null', '[]', '42', '"text"', 'true']) {
      await refusedWithoutWriting(t, api, `${name} body ${json}`, () => raw(json), 400);
    }
    await refusedWithoutWriting(t, api, `${name} unknown field`, () => api.app.inject({ method: route.method, url: route.url, headers: route.headers, payload: { ...(route.valid as object), colour: 'blue' } }), 400, 'invalid-request');
    const limit = route.url === LOGINS ? 512 * 1024 : 1024 * 1024;
    await refusedWithoutWriting(t, api, `${name} over the body limit`, () => raw(JSON.stringify({ pad: 'x'.repeat(limit) })), 413, 'payload-too-large');
  }
});

t.test('wrong types', async (t) => {
  const api = await seeded(t);
  const cases: [string, Method, string, Record<string, string>, unknown][] = [
    ['name as a number', 'POST', IDPS, admin, { ...samlIdp({ id: 'x' }), name: 42 }],
    ['enabled as a string', 'POST', IDPS, admin, { ...samlIdp({ id: 'x' }), enabled: 'true' }],
    ['jit-configuration as an array', 'POST', IDPS, admin, { ...samlIdp({ id: 'x' }), 'jit-configuration': [] }],
    ['additional-groups of numbers', 'PATCH', `${IDPS}/okta`, admin, { 'jit-configuration': { 'additional-groups': [1, 2] } }],
    ['group-sync unknown', 'PATCH', `${IDPS}/okta`, admin, { 'jit-configuration': { 'group-sync': 'merge' } }],
    ['null field', 'PATCH', `${IDPS}/okta`, admin, { 'sso-url': null }],
    ['attributes as a string', 'POST', `${IDPS}/okta/jit-test`, admin, { 'name-id': 'a', attributes: 'email=a' }],
    ['subject as a number', 'POST', LOGINS, gateway, { ...samlLogin('x'), subject: 7 }],
    ['attribute values not arrays', 'POST', LOGINS, gateway, { ...samlLogin('x'), attributes: { email: 'x@example.com' } }],
    ['authenticatedAt as a number', 'POST', LOGINS, gateway, { ...samlLogin('x'), authenticatedAt: Date.now() }],
    ['comment as a number', 'POST', `${USERS}/alice/deactivate`, admin, { comment: 1 }],
  ];
  for (const [label, method, url, headers, payload] of cases) {
    await refusedWithoutWriting(t, api, label, () => api.app.inject({ method, url, headers, payload: payload as object }), 400, 'invalid-request');
  }
});

t.test('prototype pollution attempts are refused and pollute nothing', async (t) => {
  const api = await seeded(t);
  const payloads = [
    '{"__proto__": {"polluted": "yes"}}',
    '{"name": "x", "sso-type": "SAML", "jit-configuration": {"__proto__": {"polluted": "yes"}}}',
    '{"constructor": {"prototype": {"polluted": "yes"}}}',
    '{"claims": {"sub": "a", "constructor": {"prototype": {"polluted": "yes"}}}}',
    '{"attributes": {"__proto__": ["yes"]}, "name-id": "a"}',
  ];
  for (const route of bodyRoutes()) {
    for (const payload of payloads) {
      await refusedWithoutWriting(
        t,
        api,
        `${route.method} ${route.url} ${payload}`,
        () => api.app.inject({ method: route.method, url: route.url, headers: { ...route.headers, 'content-type': 'application/json' }, payload }),
        400,
        'invalid-json',
      );
    }
  }
  t.equal(({} as Record<string, unknown>)['polluted'], undefined, 'Object.prototype is clean');
  t.equal((Object.prototype as Record<string, unknown>)['polluted'], undefined);

  // A claim or attribute merely named like a prototype member is data, never a route into Object.prototype.
  const constructorClaim = await api.login({
    loginId: randomUUID(),
    idpId: 'entra',
    protocol: 'oidc',
    subject: 'proto-1',
    claims: { sub: 'proto-1', preferred_username: 'proto-1', name: 'P', email: 'p@example.com', groups: ['g'], constructor: 'c', toString: 'x' },
    authenticatedAt: new Date().toISOString(),
  });
  t.equal(constructorClaim.statusCode, 200, constructorClaim.body);
  await api.createIdp(oidcIdp({ id: 'proto', name: 'Proto', 'username-claim': '${constructor}' }, { 'mapping-display-name': '${toString}', 'mapping-groups': 'hasOwnProperty' }));
  const inherited = await api.login({
    loginId: randomUUID(),
    idpId: 'proto',
    protocol: 'oidc',
    subject: 'proto-2',
    claims: { sub: 'proto-2', email: 'p@example.com' },
    authenticatedAt: new Date().toISOString(),
  });
  t.equal(inherited.statusCode, 403, 'inherited members are not claims');
  t.equal(inherited.json().reason, 'mapping-error');
  t.equal(({} as Record<string, unknown>)['polluted'], undefined);
});

t.test('bad query strings on the user list', async (t) => {
  const api = await seeded(t);
  const encode = (value: string) => Buffer.from(value, 'utf8').toString('base64url');
  const cases: [string, string][] = [
    ['limit=0', 'invalid-request'],
    ['limit=10001', 'invalid-request'],
    ['limit=-1', 'invalid-request'],
    ['limit=abc', 'invalid-request'],
    ['limit=1.5', 'invalid-request'],
    ['limit=', 'invalid-request'],
    ['start=-1', 'invalid-request'],
    ['start=abc', 'invalid-request'],
    ['start=100000001', 'invalid-request'],
    ['limit=1&limit=2', 'invalid-request'],
    ['active=maybe', 'invalid-request'],
    ['expand=everything', 'invalid-request'],
    ['idp=Not%20An%20Id', 'invalid-request'],
    [`q=${'x'.repeat(257)}`, 'invalid-request'],
    ['group=', 'invalid-request'],
    ['colour=blue', 'invalid-request'],
    ['Limit=10', 'invalid-request'],
    ['provisioned-after=yesterday', 'invalid-request'],
    ['provisioned-after=2024-13-01T00:00:00Z', 'invalid-request'],
    ['provisioned-before=2024-02-30T00:00:00Z', 'invalid-request'],
    ['provisioned-before=2024-01-01', 'invalid-request'],
    ['last-login-before=2024-01-01T00:00:00', 'invalid-request'],
    ['last-login-before=2016-12-31T23:59:60Z', 'invalid-request'],
    ['provisioned-after=2016-12-31T23:59:60Z', 'invalid-request'],
    ['as-of=2016-12-31T23:59:60Z', 'invalid-request'],
    ['as-of=now', 'invalid-request'],
    ['as-of=1700000000000', 'invalid-request'],
    ['cursor=!!!', 'invalid-cursor'],
    [`cursor=${encode('{}')}`, 'invalid-cursor'],
    [`cursor=${encode('["a"]')}`, 'invalid-cursor'],
    [`cursor=${encode('[1, 2]')}`, 'invalid-cursor'],
    [`cursor=${encode('not json')}`, 'invalid-cursor'],
    [`cursor=${'a'.repeat(1025)}`, 'invalid-request'],
  ];
  for (const [query, error] of cases) {
    const res = await api.get(`${USERS}?${query}`);
    assertRefused(t, res, query, 400, error);
  }
});

t.test('query parameters a route does not declare are refused', async (t) => {
  const api = await seeded(t);
  const cases: [Method, string, Record<string, string>, unknown?][] = [
    ['GET', `${USERS}/alice?verbose=1`, admin],
    ['GET', `${USERS}/alice/history?from=2`, admin],
    ['POST', `${IDPS}?dry-run=true`, admin, samlIdp({ id: 'query' })],
    ['GET', `${IDPS}/okta?fields=name`, admin],
    ['PATCH', `${IDPS}/okta?force=1`, admin, { name: 'x' }],
    ['DELETE', `${IDPS}/okta?force=1`, admin],
    ['POST', `${IDPS}/okta/jit-test?x=1`, admin, { 'name-id': 'a' }],
    ['POST', `${LOGINS}?async=1`, gateway, samlLogin('bob')],
    ['POST', `${USERS}/alice/deactivate?now=1`, admin, {}],
    ['PUT', `${USERS}/alice/groups/ops?x=1`, admin],
  ];
  for (const [method, url, headers, payload] of cases) {
    const res = await refusedWithoutWriting(t, api, `${method} ${url}`, () => api.app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload: payload as object }) }), 400, 'invalid-request');
    t.match(res.json().message, /querystring has an unknown field/);
  }
  t.equal((await api.get(`${IDPS}/okta`)).statusCode, 200, 'the IdP was not deleted');
});

t.test('bad paths', async (t) => {
  const api = await seeded(t);
  const cases: [string, string, number, string][] = [
    ['a 256-character username', `${USERS}/${'a'.repeat(256)}`, 400, 'invalid-request'],
    ['a 5000-character username', `${USERS}/${'a'.repeat(5000)}`, 400, 'invalid-request'],
    ['a 5000-character username, history', `${USERS}/${'a'.repeat(5000)}/history`, 400, 'invalid-request'],
    ['an encoded lone surrogate', `${USERS}/%ED%A0%80`, 400, 'invalid-request'],
    ['a truncated escape', `${USERS}/%E0%A4%A`, 400, 'invalid-request'],
    ['a NUL byte', `${USERS}/a%00b`, 404, 'user-not-found'],
    ['an unknown IdP', `${IDPS}/nope`, 404, 'idp-not-found'],
    ['an IdP id in capitals', `${IDPS}/OKTA`, 404, 'idp-not-found'],
    ['a 64-character IdP id', `${IDPS}/${'a'.repeat(64)}`, 400, 'invalid-request'],
    ['a path nobody serves', `${AUTHCONFIG}/jit-users/alice/whatever`, 404, 'not-found'],
  ];
  for (const [label, url, status, error] of cases) {
    const res = await api.get(url);
    assertRefused(t, res, label, status, error);
    t.ok(res.body.length < 1000, `${label}: the answer does not echo a huge path`);
  }
  const before = await api.head();
  for (const [method, url] of [
    ['PATCH', `${IDPS}/nope`],
    ['DELETE', `${IDPS}/nope`],
    ['POST', `${IDPS}/nope/jit-test`],
    ['PUT', `${USERS}/${'a'.repeat(300)}/groups/ops`],
    ['PUT', `${USERS}/alice/groups/${'g'.repeat(300)}`],
    ['POST', `${USERS}/${'a'.repeat(3000)}/deactivate`],
  ] as const) {
    const res = await api.app.inject({ method, url, headers: admin, ...(method === 'POST' || method === 'PATCH' ? { payload: { name: 'x', 'name-id': 'a' } } : {}) });
    assertRefused(t, res, `${method} ${url.slice(0, 80)}`);
  }
  t.equal(await api.head(), before);
});

t.test('unicode edge cases', async (t) => {
  const api = await startApi(t);
  await api.createIdp(samlIdp({ 'username-attribute': '${uid}' }));
  const provision = async (uid: string) => api.login(samlLogin(`subject-${Buffer.from(uid).toString('hex')}`, { uid: [uid] }));

  t.test('NFC and NFD spellings are one username', async (t) => {
    const nfc = await provision('Jos\u00e9');
    t.equal(nfc.statusCode, 200);
    const nfd = await provision('Jose\u0301');
    t.equal(nfd.statusCode, 403, 'another identity with the same username');
    t.equal(nfd.json().reason, 'username-conflict');
    await api.settled();
    for (const spelling of ['Jos\u00e9', 'Jose\u0301', 'JOS\u00c9']) {
      const res = await api.get(`${USERS}/${encodeURIComponent(spelling)}`);
      t.equal(res.statusCode, 200, spelling);
      t.equal(res.json().username, 'Jos\u00e9');
    }
  });
  t.test('emoji, right-to-left and CJK usernames work', async (t) => {
    for (const uid of ['🦊fox', 'مستخدم', '用户', 'ǅemal']) {
      const res = await provision(uid);
      t.equal(res.statusCode, 200, `${uid}: ${res.body}`);
      await api.settled();
      t.equal((await api.get(`${USERS}/${encodeURIComponent(uid)}`)).json().username, uid.normalize('NFKC'));
    }
    const list = await api.get(`${USERS}?q=${encodeURIComponent('🦊')}`);
    t.same(list.json().map((u: { username: string }) => u.username), ['🦊fox']);
  });
  t.test('invisible and control characters are no username', async (t) => {
    for (const uid of ['zero\u200Bwidth', 'bidi\u202Eoverride', 'tab\tbed', 'line\u2028sep', '\u0007bell']) {
      const before = (await api.events('UserProvisioned')).length;
      const res = await provision(uid);
      t.equal(res.statusCode, 403, escaped(uid));
      t.equal(res.json().reason, 'mapping-error');
      t.equal((await api.events('UserProvisioned')).length, before);
    }
  });
  t.test('lone surrogates are not text', async (t) => {
    for (const [label, login] of [
      ['in the subject', samlLogin('x\uD800y', { uid: ['fine'] })],
      ['in an attribute value', samlLogin('lone-2', { uid: ['x\uDC00y'] })],
      ['in an attribute name', samlLogin('lone-3', { uid: ['ok3'], ['bad\uD83D']: ['v'] })],
    ] as const) {
      await refusedWithoutWriting(t, api, label, () => api.login(login), 400, 'invalid-request');
    }
    const paired = await provision('pair\uD83E\uDD8A');
    t.equal(paired.statusCode, 200, 'a proper surrogate pair is an ordinary character');
  });
  t.test('fullwidth letters fold to ASCII (NFKC)', async (t) => {
    const res = await provision('ｗｉｄｅ');
    t.equal(res.json().user.username, 'wide');
  });
});

t.test('fuzz: random bodies and queries never cause a 5xx', async (t) => {
  const api = await seeded(t);
  await api.createIdp(samlIdp({ id: 'managed', name: 'Managed', 'username-attribute': '${uid}' }, { 'group-sync': 'managed' }));
  const statusOk = async (res: LightMyRequestResponse, what: string): Promise<boolean> => {
    if (res.statusCode >= 500) throw new Error(`${what} answered ${res.statusCode}: ${res.body}`);
    if (res.statusCode >= 400) {
      const body = res.json<Record<string, unknown>>();
      if (typeof body['error'] !== 'string' || typeof body['message'] !== 'string') throw new Error(`${what}: ${res.statusCode} without the error shape: ${res.body}`);
    }
    return true;
  };
  const text = fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.constantFrom('', ' ', '${', '}', '${email}', '${a|regex:\'(.*)\'}', 'okta', 'entra', 'SAML', 'OIDC', '\u0000', 'a'.repeat(300)));
  const anyJson = fc.oneof(fc.jsonValue({ maxDepth: 3 }), text, fc.dictionary(text, fc.jsonValue({ maxDepth: 2 })));
  const iso = fc.date({ noInvalidDate: true, min: new Date('1970-01-01'), max: new Date() }).map((d) => d.toISOString());
  const jit = fc.record(
    {
      'user-provisioning-enabled': fc.oneof(fc.boolean(), anyJson),
      'mapping-display-name': text,
      'mapping-email': text,
      'mapping-groups': text,
      'additional-groups': fc.array(text, { maxLength: 3 }),
      'group-sync': fc.constantFrom('replace', 'add-only', 'managed', 'x'),
      'link-existing-users': fc.boolean(),
      'on-missing-attribute': fc.constantFrom('reject', 'keep', 'x'),
      'deactivate-after-days': fc.integer({ min: -1, max: 40000 }),
    },
    { requiredKeys: [] },
  );
  const idpFields = fc.record(
    {
      id: fc.oneof(fc.constantFrom('okta', 'entra', 'fz'), text),
      name: text,
      'sso-type': fc.constantFrom('SAML', 'OIDC', 'LDAP'),
      enabled: fc.oneof(fc.boolean(), anyJson),
      'jit-configuration': jit,
      'sso-url': fc.oneof(fc.webUrl(), text),
      'sso-issuer': text,
      certificate: fc.oneof(fc.constant(samlIdp().certificate!), text, fc.base64String()),
      'username-attribute': text,
      'issuer-url': fc.oneof(fc.webUrl(), text),
      'client-id': text,
      'client-secret': text,
      'discovery-enabled': fc.boolean(),
      'allow-insecure-http': fc.boolean(),
      'additional-scopes': fc.array(text, { maxLength: 3 }),
      'username-claim': text,
      'clock-skew-seconds': fc.integer({ min: -5, max: 400 }),
    },
    { requiredKeys: [] },
  );
  const attributes = fc.dictionary(fc.oneof(text, fc.constantFrom('uid', 'email', 'displayName', 'groups')), fc.oneof(fc.array(text, { maxLength: 4 }), anyJson), { maxKeys: 5 });
  const claims = fc.dictionary(fc.oneof(text, fc.constantFrom('sub', 'preferred_username', 'email', 'name', 'groups')), anyJson, { maxKeys: 6 });
  const login = fc.record(
    {
      loginId: fc.oneof(fc.uuid(), text),
      idpId: fc.oneof(fc.constantFrom('okta', 'entra', 'managed', 'nope'), text),
      protocol: fc.constantFrom('saml', 'oidc', 'x'),
      subject: fc.oneof(fc.constantFrom('alice', 'bob', 'carol'), text),
      attributes,
      claims,
      authenticatedAt: fc.oneof(iso, text, fc.constant('2016-12-31T23:59:60Z')),
    },
    { requiredKeys: [] },
  );
  const jitTest = fc.record({ 'name-id': text, attributes, claims, idp: fc.oneof(idpFields, anyJson) }, { requiredKeys: [] });

  // Near-valid bodies get past the schemas into the mapping, the deciders and the store.
  const subject = fc.oneof(fc.constantFrom('alice', 'bob', 'carol'), fc.string({ minLength: 1, maxLength: 40 }));
  const values = fc.array(text, { maxLength: 3 });
  const samlAttributes = fc.record({ uid: values, displayName: values, email: values, groups: fc.array(text, { maxLength: 5 }) }, { requiredKeys: ['displayName', 'email'] });
  const oidcClaims = fc.record(
    { preferred_username: fc.oneof(text, anyJson), name: fc.oneof(text, anyJson), email: fc.oneof(text, anyJson), groups: fc.oneof(fc.array(text, { maxLength: 5 }), anyJson) },
    { requiredKeys: ['preferred_username', 'name', 'email'] },
  );
  const nearLogin = fc.oneof(
    fc.record({ loginId: fc.uuid(), idpId: fc.constantFrom('okta', 'managed'), protocol: fc.constant('saml'), subject, attributes: samlAttributes, authenticatedAt: iso }),
    fc.record({ loginId: fc.uuid(), idpId: fc.constant('entra'), protocol: fc.constant('oidc'), subject, claims: oidcClaims, authenticatedAt: iso }),
  );
  const nearSamlTest = fc.record({ 'name-id': subject, attributes: samlAttributes, idp: fc.record({ 'jit-configuration': jit }) }, { requiredKeys: ['name-id', 'attributes'] });
  const nearOidcTest = fc.record({ sub: subject, claims: oidcClaims }).map(({ sub, claims: c }) => ({ claims: { ...c, sub } }));
  const nearIdp = fc
    .tuple(fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/), fc.constantFrom(samlIdp(), oidcIdp()), jit)
    .map(([id, base, j]) => ({ ...base, id, 'jit-configuration': { ...base['jit-configuration'], ...j } }));

  const body = <T, U>(structured: fc.Arbitrary<T>, nearValid: fc.Arbitrary<U>) =>
    fc.oneof({ arbitrary: nearValid, weight: 3 }, { arbitrary: structured, weight: 3 }, { arbitrary: anyJson, weight: 1 });
  const runs = { numRuns: 250 };

  const to = (url: string) => <T>(payload: fc.Arbitrary<T>) => payload.map((value) => ({ url, payload: value }));
  const comment = fc.record({ comment: text }, { requiredKeys: [] });
  const routes: [string, Method, Record<string, string>, fc.Arbitrary<{ url: string; payload: unknown }>][] = [
    ['POST /idps', 'POST', admin, to(IDPS)(body(idpFields, nearIdp))],
    ['PATCH /idps/{id}', 'PATCH', admin, fc.tuple(fc.constantFrom('okta', 'entra', 'managed'), body(idpFields, fc.record({ 'jit-configuration': jit }))).map(([id, payload]) => ({ url: `${IDPS}/${id}`, payload }))],
    ['POST /idps/okta/jit-test', 'POST', admin, to(`${IDPS}/okta/jit-test`)(body(jitTest, nearSamlTest))],
    ['POST /idps/entra/jit-test', 'POST', admin, to(`${IDPS}/entra/jit-test`)(body(jitTest, nearOidcTest))],
    ['POST /logins', 'POST', gateway, to(LOGINS)(body(login, nearLogin))],
    ['POST deactivate', 'POST', admin, to(`${USERS}/alice/deactivate`)(body(anyJson, comment))],
    ['POST reactivate', 'POST', admin, to(`${USERS}/alice/reactivate`)(body(anyJson, comment))],
  ];
  for (const [label, method, headers, arbitrary] of routes) {
    let accepted = 0;
    await t.resolves(
      fc.assert(
        fc.asyncProperty(arbitrary, async ({ url, payload }) => {
          const res = await api.app.inject({ method, url, headers: { ...headers, 'content-type': 'application/json' }, payload: JSON.stringify(payload) ?? 'null' });
          if (res.statusCode < 300) accepted += 1;
          return statusOk(res, `${label} ${url} ${JSON.stringify(payload)?.slice(0, 300)}`);
        }),
        runs,
      ),
      label,
    );
    t.ok(accepted > 0, `${label}: the fuzz also reached requests that succeed (${accepted})`);
  }

  const pathPart = fc.oneof(text.map(encodeURIComponent), fc.constantFrom('alice', 'ALICE', 'nobody', '%', '%ZZ', '%E0%A4%A', '..', '.'));
  await t.resolves(
    fc.assert(
      fc.asyncProperty(fc.constantFrom<Method>('PUT', 'DELETE'), pathPart, pathPart, async (method, user, group) => {
        const res = await api.app.inject({ method, url: `${USERS}/${user}/groups/${group}`, headers: admin });
        return statusOk(res, `${method} groups ${user}/${group}`);
      }),
      runs,
    ),
    'PUT/DELETE groups',
  );

  const queryKey = fc.constantFrom('start', 'limit', 'cursor', 'q', 'idp', 'active', 'group', 'provisioned-after', 'provisioned-before', 'last-login-before', 'expand', 'as-of', 'other');
  const queryValue = fc.oneof(text, fc.integer().map(String), iso, fc.constantFrom('true', 'false', 'groups', '-1', '0', '10000', '1e3', 'NaN', '2016-12-31T23:59:60Z'), fc.base64String());
  await t.resolves(
    fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(queryKey, queryValue), { maxLength: 4 }), fc.constantFrom('application/json', 'text/csv', '*/*', 'text/html', ''), async (pairs, accept) => {
        const query = new URLSearchParams(pairs).toString();
        const res = await api.app.inject({ method: 'GET', url: `${USERS}?${query}`, headers: { ...admin, ...(accept ? { accept } : {}) } });
        return statusOk(res, `GET jit-users?${query} (${accept})`);
      }),
      runs,
    ),
    'GET /jit-users queries',
  );
  t.equal(({} as Record<string, unknown>)['polluted'], undefined);
});
