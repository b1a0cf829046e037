import t from 'tap';
import { admin, gateway, settled, startTestApp } from '../support/testRuntime.js';
import { samlIdp, samlLogin } from '../support/fixtures.js';

type Impact = {
  'users-analyzed': number;
  'users-without-attributes': number;
  outcomes: Record<string, number>;
  groups: { group: string; added: number; removed: number }[];
  fields: Record<string, number>;
  rejections: Record<string, number>;
  summary: string[];
  users: { username: string; outcome: string; 'groups-removed'?: string[] }[];
};

t.test('impact analysis: what a proposed mapping would do to every user, from their last login', async (t) => {
  const { app, runtime, close } = await startTestApp();
  t.teardown(close);
  await app.inject({ method: 'POST', url: '/rest/authconfig/1.0/idps', headers: admin, payload: samlIdp() });
  for (let i = 0; i < 5; i++) {
    const res = await app.inject({
      method: 'POST',
      url: '/rest/jit/1.0/logins',
      headers: gateway,
      payload: samlLogin(`u${i}`, { groups: i < 3 ? ['jira-users', 'x'] : ['jira-users'], department: [i % 2 === 0 ? 'Eng' : 'Ops'], mail: [`U${i}@Example.com`] }),
    });
    t.equal(res.statusCode, 200);
  }
  await settled(runtime);
  const head = await runtime.store.headPosition();

  const unchanged = await app.inject({ method: 'POST', url: '/rest/authconfig/1.0/idps/okta/impact', headers: admin, payload: { name: 'Okta (renamed)' } });
  t.equal(unchanged.statusCode, 200, unchanged.body);
  const same = JSON.parse(unchanged.body) as Impact;
  t.equal(same['users-analyzed'], 5);
  t.same(same.outcomes, { 'would-update': 0, unchanged: 5, 'would-reject': 0, 'would-provision': 0 });

  // Groups from `department` instead of `groups`: everyone leaves jira-users (and x), joins Eng/Ops.
  const proposal = { 'jit-configuration': { 'mapping-groups': 'department', 'mapping-email': '${mail | lower}' } };
  const res = await app.inject({ method: 'POST', url: '/rest/authconfig/1.0/idps/okta/impact', headers: admin, payload: proposal });
  t.equal(res.statusCode, 200, res.body);
  const impact = JSON.parse(res.body) as Impact;
  t.equal(impact.outcomes['would-update'], 5);
  t.same(impact.groups.find((g) => g.group === 'jira-users'), { group: 'jira-users', added: 0, removed: 5 });
  t.same(impact.groups.find((g) => g.group === 'x'), { group: 'x', added: 0, removed: 3 });
  t.same(impact.groups.find((g) => g.group === 'Eng'), { group: 'Eng', added: 3, removed: 0 });
  t.equal(impact.fields['email'], 0, 'lower-casing U0@Example.com gives u0@example.com, the stored value');
  t.ok(impact.summary.includes('this change removes 5 users from group jira-users'), impact.summary.join(' | '));
  t.equal(impact.users.length, 5);
  t.equal(await runtime.store.headPosition(), head, 'impact analysis writes nothing');

  // A mapping that needs an attribute nobody sends would lock everyone out.
  const breaking = await app.inject({ method: 'POST', url: '/rest/authconfig/1.0/idps/okta/impact', headers: admin, payload: { 'jit-configuration': { 'mapping-email': '${nope}' } } });
  t.same((JSON.parse(breaking.body) as Impact).rejections, { 'mapping-error': 5 });

  const invalid = await app.inject({ method: 'POST', url: '/rest/authconfig/1.0/idps/okta/impact', headers: admin, payload: { 'jit-configuration': { 'mapping-email': '${' } } });
  t.equal(invalid.statusCode, 400);
  t.equal((JSON.parse(invalid.body) as { error: string }).error, 'invalid-mapping');

  // Erasing a user's kept attributes removes them from the analysis.
  const kept = await app.inject({ method: 'GET', url: '/rest/authconfig/1.0/jit-users/u0/login-attributes', headers: admin });
  t.equal(kept.statusCode, 200);
  t.same((JSON.parse(kept.body) as { logins: { attributes: Record<string, string[]> }[] }).logins[0]?.attributes['department'], ['Eng']);
  t.equal((await app.inject({ method: 'DELETE', url: '/rest/authconfig/1.0/jit-users/u0/login-attributes', headers: admin })).statusCode, 204);
  const after = JSON.parse((await app.inject({ method: 'POST', url: '/rest/authconfig/1.0/idps/okta/impact', headers: admin, payload: proposal })).body) as Impact;
  t.equal(after['users-analyzed'], 4);
  t.equal(after['users-without-attributes'], 1);
  t.equal((await app.inject({ method: 'POST', url: '/rest/authconfig/1.0/idps/nope/impact', headers: admin, payload: { name: 'x' } })).statusCode, 404);
});

t.test('JIT_LOGIN_ATTRIBUTES_DAYS=0 keeps no attributes', async (t) => {
  const { app, runtime, close } = await startTestApp({ JIT_LOGIN_ATTRIBUTES_DAYS: '0' });
  t.teardown(close);
  await app.inject({ method: 'POST', url: '/rest/authconfig/1.0/idps', headers: admin, payload: samlIdp() });
  await app.inject({ method: 'POST', url: '/rest/jit/1.0/logins', headers: gateway, payload: samlLogin('alice') });
  await settled(runtime);
  const kept = JSON.parse((await app.inject({ method: 'GET', url: '/rest/authconfig/1.0/jit-users/alice/login-attributes', headers: admin })).body) as { logins: unknown[] };
  t.same(kept.logins, []);
});
