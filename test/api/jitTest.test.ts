/** POST /idps/{id}/jit-test: the dry run of a sample login. It answers what would happen and writes nothing. */
import t, { type Test } from 'tap';
import { userIdOf } from '../../services/shared/ids.js';
import { oidcIdp, samlIdp, samlLogin } from '../support/fixtures.js';
import { AUTHCONFIG, startApi, type Api } from './fixtures/api.js';

const IDPS = `${AUTHCONFIG}/idps`;

const sample = (nameId: string, attributes: Record<string, string[]> = {}) => ({
  'name-id': nameId,
  attributes: { displayName: [`${nameId} Display`], email: [`${nameId}@example.com`], groups: ['jira-users'], ...attributes },
});

/** Runs a dry run and checks that the store did not move. */
async function dryRun(t: Test, api: Api, id: string, body: unknown, status = 200) {
  const before = await api.head();
  const res = await api.post(`${IDPS}/${id}/jit-test`, body);
  t.equal(res.statusCode, status, res.body);
  t.equal(await api.head(), before, 'the dry run wrote nothing');
  return res.json();
}

t.test('would-provision: the mapped user of a first login', async (t) => {
  const api = await startApi(t);
  await api.createIdp(samlIdp({}, { 'additional-groups': ['all-staff'] }));
  const result = await dryRun(t, api, 'okta', sample('alice', { groups: ['jira-users', 'JIRA-USERS', 'ops'] }));
  t.strictSame(result, {
    outcome: 'would-provision',
    user: {
      'user-id': userIdOf('okta', 'alice'),
      username: 'alice',
      'display-name': 'alice Display',
      email: 'alice@example.com',
      groups: ['jira-users', 'ops'],
    },
    'groups-added': ['jira-users', 'ops', 'all-staff'],
    'groups-removed': [],
    problems: [],
  });
  const users = await api.get(`${AUTHCONFIG}/jit-users`);
  t.same(users.json(), [], 'nobody was provisioned');
  // The real login does what the dry run said.
  const login = await api.login(samlLogin('alice', { groups: ['jira-users', 'JIRA-USERS', 'ops'] }));
  t.equal(login.json().outcome, 'provisioned');
  t.same(login.json().user.groups, ['all-staff', 'jira-users', 'ops']);
});

t.test('would-update with the field and group diff; unchanged', async (t) => {
  const api = await startApi(t);
  await api.createIdp(samlIdp());
  await api.loginOk(samlLogin('alice', { groups: ['jira-users', 'ops'] }));
  const update = await dryRun(t, api, 'okta', sample('alice', { displayName: ['Alice Liddell'], email: ['ALICE@example.com'], groups: ['jira-users', 'confluence-users'] }));
  t.strictSame(update, {
    outcome: 'would-update',
    user: { 'user-id': userIdOf('okta', 'alice'), username: 'alice', 'display-name': 'Alice Liddell', email: 'ALICE@example.com', groups: ['jira-users', 'confluence-users'] },
    changes: {
      'display-name': { from: 'alice Display', to: 'Alice Liddell' },
      email: { from: 'alice@example.com', to: 'ALICE@example.com' },
    },
    'groups-added': ['confluence-users'],
    'groups-removed': ['ops'],
    problems: [],
  });
  const otherIdentity = await dryRun(t, api, 'okta', sample('ALICE'));
  t.match(otherIdentity, { outcome: 'would-reject', reason: 'username-conflict' }, 'another NameID with the same username is not alice');
  const same = await dryRun(t, api, 'okta', sample('alice', { groups: ['ops', 'jira-users'] }));
  t.strictSame(same, {
    outcome: 'unchanged',
    user: { 'user-id': userIdOf('okta', 'alice'), username: 'alice', 'display-name': 'alice Display', email: 'alice@example.com', groups: ['ops', 'jira-users'] },
    problems: [],
  });
  const detail = await api.get(`${AUTHCONFIG}/jit-users/alice`);
  t.equal(detail.json()['display-name'], 'alice Display', 'the stored user is untouched');
});

t.test('would-reject: mapping errors, provisioning disabled, deactivated user, disabled IdP', async (t) => {
  const api = await startApi(t);
  await api.createIdp(samlIdp());
  await api.createIdp(samlIdp({ id: 'noprov', name: 'No provisioning' }, { 'user-provisioning-enabled': false }));

  const missing = await dryRun(t, api, 'okta', { 'name-id': 'bob', attributes: { displayName: ['Bob'], groups: [] } });
  t.match(missing, { outcome: 'would-reject', reason: 'mapping-error', problems: [{ code: 'attribute-missing', field: 'email' }] });
  t.equal(missing.problems.length, 1);

  const disabled = await dryRun(t, api, 'noprov', sample('bob'));
  t.match(disabled, { outcome: 'would-reject', reason: 'provisioning-disabled', problems: [{ code: 'provisioning-disabled' }] });
  t.match(disabled.user, { username: 'bob' });

  await api.loginOk(samlLogin('carol'));
  t.equal((await api.post(`${AUTHCONFIG}/jit-users/carol/deactivate`, {})).statusCode, 200);
  const deactivated = await dryRun(t, api, 'okta', sample('carol'));
  t.match(deactivated, { outcome: 'would-reject', reason: 'user-deactivated' });

  await api.loginOk(samlLogin('dave'));
  const conflict = await dryRun(t, api, 'noprov', sample('dave'));
  t.match(conflict, { outcome: 'would-reject', reason: 'username-conflict' }, 'another IdP may not take over dave');

  t.equal((await api.patch(`${IDPS}/okta`, { enabled: false })).statusCode, 200);
  const off = await dryRun(t, api, 'okta', sample('erin'));
  t.match(off, { outcome: 'would-reject', reason: 'idp-disabled' });
});

t.test('a proposed configuration (body idp) is tested without saving it', async (t) => {
  const api = await startApi(t);
  await api.createIdp(samlIdp({}, { 'user-provisioning-enabled': false }));
  const stored = (await api.get(`${IDPS}/okta`)).json();
  const body = {
    ...sample('alice', { givenName: ['Alice'], sn: ['Liddell'], mail: ['Alice@Example.COM'] }),
    idp: { 'jit-configuration': { 'user-provisioning-enabled': true, 'mapping-display-name': '${givenName} ${sn}', 'mapping-email': '${mail | lower}' } },
  };
  const result = await dryRun(t, api, 'okta', body);
  t.match(result, { outcome: 'would-provision', user: { username: 'alice', 'display-name': 'Alice Liddell', email: 'alice@example.com' } });
  t.same((await api.get(`${IDPS}/okta`)).json(), stored, 'the stored configuration is unchanged');
  const current = await dryRun(t, api, 'okta', sample('alice'));
  t.match(current, { outcome: 'would-reject', reason: 'provisioning-disabled' });

  const invalid = await dryRun(t, api, 'okta', { ...sample('alice'), idp: { 'jit-configuration': { 'mapping-email': '${mail' } } }, 400);
  t.match(invalid, { error: 'invalid-mapping', problems: [{ field: 'jit-configuration.mapping-email', position: 0 }] });
  const badSchema = await dryRun(t, api, 'okta', { ...sample('alice'), idp: { colour: 'blue' } }, 400);
  t.equal(badSchema.error, 'invalid-request');
  const renamed = await dryRun(t, api, 'okta', { ...sample('alice'), idp: { id: 'other' } }, 400);
  t.equal(renamed.error, 'invalid-idp');
});

t.test('linking an identity (link-existing-users) is a would-update without changes', async (t) => {
  const api = await startApi(t);
  await api.createIdp(samlIdp());
  await api.createIdp(oidcIdp({}, { 'link-existing-users': true }));
  await api.loginOk(samlLogin('alice'));
  const result = await dryRun(t, api, 'entra', { claims: { sub: 'sub-1', preferred_username: 'alice', name: 'alice Display', email: 'alice@example.com', groups: ['jira-users'] } });
  t.match(result, { outcome: 'would-update', user: { 'user-id': userIdOf('okta', 'alice'), username: 'alice' }, problems: [] });
  t.same(result.changes ?? {}, {}, 'no field changes');
  t.same([result['groups-added'] ?? [], result['groups-removed'] ?? []], [[], []], 'no membership changes');
  const detail = (await api.get(`${AUTHCONFIG}/jit-users/alice`)).json();
  t.equal(detail.identities.length, 1, 'nothing was linked');
});

t.test('OIDC samples use claims; the sub is the subject', async (t) => {
  const api = await startApi(t);
  await api.createIdp(oidcIdp());
  const result = await dryRun(t, api, 'entra', { claims: { sub: 'abc-123', preferred_username: 'Alice', name: 'Alice', email: 'alice@example.com', groups: ['staff'] } });
  t.strictSame(result, {
    outcome: 'would-provision',
    user: { 'user-id': userIdOf('entra', 'abc-123'), username: 'Alice', 'display-name': 'Alice', email: 'alice@example.com', groups: ['staff'] },
    'groups-added': ['staff'],
    'groups-removed': [],
    problems: [],
  });
  const wrongType = await dryRun(t, api, 'entra', { claims: { sub: 'abc-123', preferred_username: 42, name: 'A', email: 'a@example.com', groups: [] } });
  t.match(wrongType, { outcome: 'would-reject', reason: 'mapping-error', problems: [{ field: 'username' }] });
});

t.test('malformed samples are 400, unknown IdPs 404, and nothing is written', async (t) => {
  const api = await startApi(t);
  await api.createIdp(samlIdp());
  await api.createIdp(oidcIdp());
  const cases: [string, string, unknown, number, string][] = [
    ['SAML without name-id', 'okta', { attributes: {} }, 400, 'invalid-request'],
    ['SAML with claims', 'okta', { 'name-id': 'a', claims: { sub: 'a' } }, 400, 'invalid-request'],
    ['OIDC without sub', 'entra', { claims: { name: 'x' } }, 400, 'invalid-request'],
    ['OIDC with a numeric sub', 'entra', { claims: { sub: 7 } }, 400, 'invalid-request'],
    ['OIDC with attributes', 'entra', { claims: { sub: 'a' }, attributes: {} }, 400, 'invalid-request'],
    ['OIDC with name-id', 'entra', { 'name-id': 'a', claims: { sub: 'a' } }, 400, 'invalid-request'],
    ['unknown field', 'okta', { 'name-id': 'a', colour: 'blue' }, 400, 'invalid-request'],
    ['attribute values must be strings', 'okta', { 'name-id': 'a', attributes: { email: 'a@example.com' } }, 400, 'invalid-request'],
    ['empty name-id', 'okta', { 'name-id': '' }, 400, 'invalid-request'],
    ['unknown IdP', 'nope', sample('a'), 404, 'idp-not-found'],
  ];
  for (const [label, id, body, status, error] of cases) {
    const result = await dryRun(t, api, id, body, status);
    t.equal(result.error, error, label);
  }
  await api.del(`${IDPS}/okta`);
  const deleted = await dryRun(t, api, 'okta', sample('a'), 404);
  t.equal(deleted.error, 'idp-not-found');
});
