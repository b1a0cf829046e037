/** GET /rest/authconfig/1.0/jit-users: Atlassian shape, sorting, paging, filters, expand, CSV, as-of. */
import t, { type Test } from 'tap';
import { oidcLogin, samlLogin } from '../support/fixtures.js';
import { admin } from '../support/testRuntime.js';
import { AUTHCONFIG, startApi, testClock, withDefaultIdps, type Api } from './fixtures/api.js';
import type { JitUser } from '../../schemas/types.gen.js';

const LIST = `${AUTHCONFIG}/jit-users`;


const usernames = (users: JitUser[]) => users.map((u) => u.username);

async function list(api: Api, query = '', headers?: Record<string, string>): Promise<{ users: JitUser[]; total: number; link: string | undefined }> {
  const res = await api.get(`${LIST}${query}`, headers);
  if (res.statusCode !== 200) throw new Error(`GET ${LIST}${query}: ${res.statusCode} ${res.body}`);
  return { users: res.json(), total: Number(res.headers['x-total-count']), link: res.headers['link'] as string | undefined };
}

/** The URL inside a Link: <url>; rel="next" header. */
function nextUrl(link: string | undefined): string | undefined {
  if (link === undefined) return undefined;
  const match = /^<([^>]+)>;\s*rel="next"$/.exec(link);
  if (!match?.[1]) throw new Error(`not a Link rel=next header: ${link}`);
  return match[1];
}

t.test('an empty service answers an empty array', async (t) => {
  const api = await startApi(t);
  const res = await api.get(LIST);
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^application\/json/);
  t.same(res.json(), []);
  t.equal(res.headers['x-total-count'], '0');
  t.notOk(res.headers['link']);
});

t.test('users in the Atlassian shape plus our fields, sorted by username case-insensitively', async (t) => {
  const clock = testClock();
  const api = await startApi(t, {}, { now: clock.now });
  await withDefaultIdps(api);
  const answers: Record<string, { recordedAt: string; authenticatedAt: string; userId: string }> = {};
  for (const subject of ['carol', 'Alice', 'bob']) {
    clock.advance(60_000);
    const recordedAt = clock.iso();
    const login = samlLogin(subject, { displayName: [`${subject} Example`] }, { authenticatedAt: new Date(Date.parse(recordedAt) - 1000).toISOString() });
    const answer = (await api.loginOk(login)) as { user: { 'user-id': string } };
    answers[subject] = { recordedAt, authenticatedAt: login.authenticatedAt, userId: answer.user['user-id'] };
  }
  clock.advance(60_000);
  const dave = (await api.loginOk(oidcLogin('Dave'))) as { user: { 'user-id': string } };

  const res = await api.get(LIST);
  t.equal(res.statusCode, 200);
  t.equal(res.headers['x-total-count'], '4');
  t.notOk(res.headers['link'], 'one page, no next link');
  const users = res.json<JitUser[]>();
  t.same(usernames(users), ['Alice', 'bob', 'carol', 'Dave']);
  t.same(Object.keys(users[0]!).slice(0, 3), ['username', 'display-name', 'email'], "Atlassian's three fields come first");
  t.strictSame(users[0], {
    username: 'Alice',
    'display-name': 'Alice Example',
    email: 'Alice@example.com',
    'user-id': answers['Alice']!.userId,
    active: true,
    'idp-id': 'okta',
    'provisioned-at': answers['Alice']!.recordedAt,
    'last-login-at': answers['Alice']!.authenticatedAt,
  });
  t.equal(users[3]!['idp-id'], 'entra');
  t.equal(users[3]!['user-id'], dave.user['user-id']);
  t.equal(users[3]!['display-name'], 'Dave Name');

  const latest = await api.get(`${AUTHCONFIG.replace('1.0', 'latest')}/jit-users`);
  t.equal(latest.statusCode, 200, '/latest/ is an alias');
  t.same(latest.json(), users);
});

t.test('paging: start/limit, X-Total-Count and Link rel="next" with a cursor', async (t) => {
  const api = await startApi(t);
  await withDefaultIdps(api);
  const names = Array.from({ length: 25 }, (_, i) => `user${String(i).padStart(2, '0')}`);
  // Created in a shuffled order, listed sorted.
  for (const name of [...names].reverse()) await api.loginOk(samlLogin(name));

  t.test('following Link yields every user exactly once, in order', async (t) => {
    const seen: string[] = [];
    let url: string | undefined = `${LIST}?limit=10`;
    const pageSizes: number[] = [];
    while (url) {
      const res = await api.get(url);
      t.equal(res.statusCode, 200, url);
      t.equal(res.headers['x-total-count'], '25', 'the total counts every page');
      const page = res.json<JitUser[]>();
      pageSizes.push(page.length);
      seen.push(...usernames(page));
      url = nextUrl(res.headers['link'] as string | undefined);
      if (url) {
        t.match(url, /^\/rest\/authconfig\/1\.0\/jit-users\?/, 'the link is a path on this service');
        t.match(url, /[?&]cursor=/, 'the link carries a keyset cursor');
        t.match(url, /[?&]limit=10(&|$)/, 'the link keeps the page size');
      }
    }
    t.same(pageSizes, [10, 10, 5]);
    t.same(seen, names, 'no duplicates, no gaps');
  });

  t.test('start skips users (Atlassian offset paging)', async (t) => {
    const { users, total, link } = await list(api, '?start=10&limit=10');
    t.same(usernames(users), names.slice(10, 20));
    t.equal(total, 25);
    const next = nextUrl(link);
    t.ok(next);
    const { users: third, link: none } = await list(api, next!.replace(LIST, ''));
    t.same(usernames(third), names.slice(20));
    t.equal(none, undefined, 'the last page has no next link');
    const last = await list(api, '?start=20&limit=10');
    t.same(usernames(last.users), names.slice(20));
    t.equal(last.link, undefined);
    const beyond = await list(api, '?start=40');
    t.same(beyond.users, []);
    t.equal(beyond.total, 25);
  });

  t.test('an exact multiple of the page size ends without a dangling link', async (t) => {
    const { users, link } = await list(api, '?start=15&limit=10');
    t.equal(users.length, 10);
    t.equal(link, undefined);
  });

  t.test('the default limit (1000) answers everything on one page; 10000 is allowed', async (t) => {
    const all = await list(api);
    t.equal(all.users.length, 25);
    t.equal(all.link, undefined);
    const max = await list(api, '?limit=10000');
    t.equal(max.users.length, 25);
  });

  t.test('the link keeps the filters', async (t) => {
    const first = await list(api, '?q=USER1&limit=4');
    t.same(usernames(first.users), names.slice(10, 14));
    t.equal(first.total, 10);
    const next = nextUrl(first.link)!;
    t.match(next, /[?&]q=USER1(&|$)/);
    const second = await list(api, next.replace(LIST, ''));
    t.same(usernames(second.users), names.slice(14, 18));
  });

  t.test('the alias links to itself', async (t) => {
    const res = await api.get(`/rest/authconfig/latest/jit-users?limit=10`);
    t.match(nextUrl(res.headers['link'] as string), /^\/rest\/authconfig\/latest\/jit-users\?/);
  });
});

t.test('filters', async (t) => {
  const clock = testClock(Date.now() - 10 * 86_400_000);
  const api = await startApi(t, {}, { now: clock.now });
  await withDefaultIdps(api);
  const day = 86_400_000;
  const provisionedAt: Record<string, string> = {};
  const seed = async (login: Parameters<Api['loginOk']>[0]) => {
    clock.advance(day);
    provisionedAt[login.subject] = clock.iso();
    await api.loginOk({ ...login, authenticatedAt: clock.iso() });
  };
  await seed(samlLogin('alice', { displayName: ['Alice Smith'], email: ['alice@corp.example'], groups: ['Jira-Users', 'Confluence-Admins'] }));
  await seed(samlLogin('bob', { displayName: ['Bob Jones'], email: ['bob@other.example'], groups: ['jira-users'] }));
  await seed(oidcLogin('carol', { name: 'Carol SMITHERS', email: 'carol@corp.example', groups: ['staff'] }));
  await seed(samlLogin('dave', { displayName: ['Dave Null'], email: ['dave@corp.example'], groups: [] }));
  const deactivated = await api.post(`${LIST}/dave/deactivate`, {});
  t.equal(deactivated.statusCode, 200, deactivated.body);
  await api.settled();

  const check = async (t: Test, query: string, expected: string[]) => {
    const { users, total } = await list(api, query);
    t.same(usernames(users), expected, query);
    t.equal(total, expected.length, `X-Total-Count of ${query}`);
  };

  t.test('q: substring of username, display name or email, case-insensitive', async (t) => {
    await check(t, '?q=ALI', ['alice']);
    await check(t, '?q=smith', ['alice', 'carol']);
    await check(t, '?q=CORP.EXAMPLE', ['alice', 'carol', 'dave']);
    await check(t, '?q=nobody', []);
    await check(t, `?q=${encodeURIComponent('Bob Jones')}`, ['bob']);
  });
  t.test('idp', async (t) => {
    await check(t, '?idp=okta', ['alice', 'bob', 'dave']);
    await check(t, '?idp=entra', ['carol']);
    await check(t, '?idp=unknown', []);
  });
  t.test('active', async (t) => {
    await check(t, '?active=false', ['dave']);
    await check(t, '?active=true', ['alice', 'bob', 'carol']);
  });
  t.test('group, case-insensitive', async (t) => {
    await check(t, '?group=jira-users', ['alice', 'bob']);
    await check(t, '?group=CONFLUENCE-admins', ['alice']);
    await check(t, '?group=Staff', ['carol']);
    await check(t, '?group=none', []);
  });
  t.test('provisioned-after / provisioned-before, any offset', async (t) => {
    const mid = (a: string, b: string) => new Date((Date.parse(a) + Date.parse(b)) / 2).toISOString();
    const afterAlice = mid(provisionedAt['alice']!, provisionedAt['bob']!);
    const afterCarol = mid(provisionedAt['carol']!, provisionedAt['dave']!);
    await check(t, `?provisioned-after=${afterAlice}`, ['bob', 'carol', 'dave']);
    await check(t, `?provisioned-before=${afterAlice}`, ['alice']);
    await check(t, `?provisioned-after=${afterAlice}&provisioned-before=${afterCarol}`, ['bob', 'carol']);
    // The same instant written with a +02:00 offset.
    const shifted = new Date(Date.parse(afterAlice) + 2 * 3_600_000).toISOString().replace('Z', '+02:00');
    await check(t, `?provisioned-after=${encodeURIComponent(shifted)}`, ['bob', 'carol', 'dave']);
  });
  t.test('last-login-before', async (t) => {
    await check(t, `?last-login-before=${encodeURIComponent(provisionedAt['carol']!)}`, ['alice', 'bob']);
    // A later login moves bob's last login past the instant.
    clock.advance(day);
    await api.loginOk(samlLogin('bob', { displayName: ['Bob Jones'], email: ['bob@other.example'], groups: ['jira-users'] }, { authenticatedAt: clock.iso() }));
    await check(t, `?last-login-before=${encodeURIComponent(provisionedAt['carol']!)}`, ['alice']);
  });
  t.test('filters combine', async (t) => {
    await check(t, '?q=corp&idp=okta&active=true', ['alice']);
    await check(t, '?group=jira-users&q=bob', ['bob']);
  });
});

t.test('expand=groups adds each user\'s groups', async (t) => {
  const api = await startApi(t);
  await withDefaultIdps(api);
  await api.loginOk(samlLogin('alice', { groups: ['jira-users', 'Confluence-Users'] }));
  await api.loginOk(samlLogin('bob', { groups: [] }));
  const plain = await list(api);
  t.notOk('groups' in plain.users[0]!, 'no groups without expand');
  const { users } = await list(api, '?expand=groups');
  t.same(users.map((u) => [u.username, u.groups]), [
    ['alice', ['Confluence-Users', 'jira-users']],
    ['bob', []],
  ]);
});

t.test('Accept: text/csv', async (t) => {
  const api = await startApi(t);
  await withDefaultIdps(api);
  const alice = (await api.loginOk(samlLogin('alice', { displayName: ['Smith, "Al"'], email: ['alice@example.com'], groups: ['a', 'b'] }))) as { user: { 'user-id': string } };
  await api.loginOk(samlLogin('mallory', { displayName: ['=HYPERLINK("http://evil.example","x")'], email: ['+1@example.com'], groups: ['@admins'] }));
  await api.loginOk(samlLogin('zed', { displayName: ['-2+3'], email: ['zed@example.com'] }));

  const res = await api.get(LIST, { ...admin, accept: 'text/csv' });
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^text\/csv/);
  t.match(res.headers['content-disposition'], /attachment; filename="jit-users\.csv"/);
  t.equal(res.headers['x-total-count'], '3');
  t.match(res.headers['vary'], /accept/i);
  const lines = res.body.split('\r\n');
  t.equal(lines[0], 'username,display-name,email,user-id,active,idp-id,provisioned-at,last-login-at');
  t.equal(lines.length, 5, 'header, three rows and the final CRLF');
  t.equal(lines[4], '');
  t.match(lines[1], new RegExp(`^alice,"Smith, ""Al""",alice@example\\.com,${alice.user['user-id']},true,okta,\\d{4}-`), 'commas and quotes are quoted');
  t.match(lines[2], /^mallory,"'=HYPERLINK\(""http:\/\/evil\.example"",""x""\)",'\+1@example\.com,/, 'formula cells are defused with a quote');
  t.match(lines[3], /^zed,'-2\+3,zed@example\.com,/);

  const expanded = await api.get(`${LIST}?expand=groups`, { ...admin, accept: 'text/csv' });
  const rows = expanded.body.split('\r\n');
  t.match(rows[0], /,groups$/);
  t.match(rows[1], /,a;b$/);
  t.match(rows[2], /,'@admins$/);

  const wildcard = await api.get(LIST, { ...admin, accept: 'text/*' });
  t.match(wildcard.headers['content-type'], /^text\/csv/, 'text/* picks CSV');
  const preferred = await api.get(LIST, { ...admin, accept: 'application/json;q=0.5, text/csv' });
  t.match(preferred.headers['content-type'], /^text\/csv/, 'q-values are honoured');
  const any = await api.get(LIST, { ...admin, accept: '*/*' });
  t.match(any.headers['content-type'], /^application\/json/);
});

t.test('an unsupported Accept is 406', async (t) => {
  const api = await startApi(t);
  for (const accept of ['application/xml', 'text/html', 'application/json;q=0']) {
    const res = await api.get(LIST, { ...admin, accept });
    t.equal(res.statusCode, 406, accept);
    t.same(res.json(), { error: 'not-acceptable', message: 'Ask for application/json or text/csv' });
  }
});

t.test('as-of answers the state at a past instant', async (t) => {
  const clock = testClock();
  const api = await startApi(t, {}, { now: clock.now });
  await withDefaultIdps(api);
  const beforeAnything = clock.iso();
  clock.advance(1000);
  await api.loginOk(samlLogin('alice', { displayName: ['Alice Old'], groups: ['jira-users'] }, { authenticatedAt: clock.iso() }));
  clock.advance(1000);
  const instant = clock.iso();
  clock.advance(1000);
  await api.loginOk(samlLogin('alice', { displayName: ['Alice New'], groups: ['confluence-users'] }, { authenticatedAt: clock.iso() }));
  t.equal((await api.post(`${LIST}/alice/deactivate`, {})).statusCode, 200);
  await api.loginOk(samlLogin('bob', {}, { authenticatedAt: clock.iso() }));

  const now = await list(api, '?expand=groups');
  t.same(now.users.map((u) => [u.username, u['display-name'], u.active, u.groups]), [
    ['alice', 'Alice New', false, ['confluence-users']],
    ['bob', 'bob Display', true, ['jira-users']],
  ]);

  const then = await list(api, `?expand=groups&as-of=${encodeURIComponent(instant)}`);
  t.same(then.users.map((u) => [u.username, u['display-name'], u.active, u.groups]), [['alice', 'Alice Old', true, ['jira-users']]]);
  t.equal(then.total, 1);
  t.equal(then.users[0]!['last-login-at'], new Date(Date.parse(instant) - 1000).toISOString());

  const filtered = await list(api, `?active=false&as-of=${encodeURIComponent(instant)}`);
  t.same(filtered.users, [], 'filters apply to the past state');
  const empty = await list(api, `?as-of=${encodeURIComponent(beforeAnything)}`);
  t.same(empty.users, []);
  t.equal(empty.total, 0);
  const later = encodeURIComponent(new Date(Date.now() + 86_400_000).toISOString());
  const future = await list(api, `?as-of=${later}`);
  t.same(usernames(future.users), ['alice', 'bob']);
  const firstPage = await list(api, `?as-of=${later}&limit=1`);
  t.same(usernames(firstPage.users), ['alice']);
  const next = nextUrl(firstPage.link)!;
  t.match(next, /[?&]as-of=/, 'the next page is of the same instant');
  t.same(usernames((await list(api, next.replace(LIST, ''))).users), ['bob']);

  const csv = await api.get(`${LIST}?as-of=${encodeURIComponent(instant)}`, { ...admin, accept: 'text/csv' });
  t.match(csv.body.split('\r\n')[1], /^alice,Alice Old,/);
});
