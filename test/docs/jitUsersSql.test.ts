/**
 * The SQL an admin runs against the read model to list JIT users (README, "Finding JIT provisioned
 * users with SQL"; docs/jit-users.{sqlite,postgres}.sql): run exactly as written on a database
 * filled through the API, it answers the same users, fields, order, groups and identities as
 * GET /rest/authconfig/1.0/jit-users?expand=groups. The README shows the files' text verbatim.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import t, { type Test } from 'tap';
import type { LightMyRequestResponse } from 'fastify';
import { ADMIN_TOKEN, oidcIdp, oidcLogin, samlIdp, samlLogin } from '../support/fixtures.js';
import { createTestDatabase } from '../support/postgres.js';
import { settled, startTestApp, type TestApp } from '../support/testRuntime.js';
import type { JitUser } from '../../schemas/types.gen.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SQL_FILES = { sqlite: join(ROOT, 'docs/jit-users.sqlite.sql'), postgres: join(ROOT, 'docs/jit-users.postgres.sql') };

type SqlRow = {
  username: string;
  display_name: string;
  email: string;
  user_id: string;
  active: number | boolean;
  idp_id: string;
  provisioned_at: string;
  last_login_at: string | null;
  groups: string | null;
  identities: string | null;
};

type ApiUser = JitUser;

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

async function request(test: TestApp, method: 'GET' | 'POST', url: string, payload?: object, headers: Record<string, string> = admin): Promise<LightMyRequestResponse> {
  const res = await test.app.inject({ method, url, headers, ...(payload ? { payload } : {}) });
  if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`);
  return res;
}

/** A few users with what the query must show: groups, a linked second identity, a deactivated user, names that sort by code point. */
async function provisionUsers(test: TestApp): Promise<void> {
  await request(test, 'POST', '/rest/authconfig/1.0/idps', samlIdp());
  await request(test, 'POST', '/rest/authconfig/1.0/idps', oidcIdp());
  await request(test, 'POST', '/rest/authconfig/1.0/idps', samlIdp({ id: 'partner', name: 'Partner' }, { 'link-existing-users': true, 'additional-groups': ['partners'] }));
  const gateway = { authorization: 'Bearer gateway-token-0123456789abcdef' };
  const login = (body: object) => request(test, 'POST', '/rest/jit/1.0/logins', body, gateway);
  await login(samlLogin('alice', { groups: ['jira-users', 'Confluence-Users'] }));
  await login(samlLogin('Bob', { groups: [] }));
  await login(samlLogin('zoë', { displayName: ['Zoë Ångström'], groups: ['jira-users'] }));
  await login(samlLogin('émile'));
  await login(oidcLogin('carol', { groups: ['staff', 'jira-admins'] }));
  await login(samlLogin('alice', { groups: ['jira-users'] }, { idpId: 'partner' }));
  await request(test, 'POST', '/rest/authconfig/1.0/jit-users/Bob/deactivate', {});
  await settled(test.runtime);
}

async function apiView(test: TestApp): Promise<{ users: ApiUser[]; identities: Map<string, string[]> }> {
  const users = (await request(test, 'GET', '/rest/authconfig/1.0/jit-users?expand=groups&limit=10000')).json<ApiUser[]>();
  const identities = new Map<string, string[]>();
  for (const user of users) {
    const detail = (await request(test, 'GET', `/rest/authconfig/1.0/jit-users/${encodeURIComponent(user.username)}`)).json<{ identities: { 'idp-id': string; subject: string }[] }>();
    identities.set(user['user-id'], detail.identities.map((i) => `${i['idp-id']}:${i.subject}`).sort());
  }
  return { users, identities };
}

function compare(t: Test, rows: readonly SqlRow[], api: Awaited<ReturnType<typeof apiView>>): void {
  t.equal(rows.length, 5, 'five JIT users');
  const list = (text: string | null) => (text === null ? [] : text.split(', ')).sort();
  const fromSql = rows.map((row) => ({
    username: row.username,
    'display-name': row.display_name,
    email: row.email,
    'user-id': row.user_id,
    active: row.active === true || row.active === 1,
    'idp-id': row.idp_id,
    'provisioned-at': row.provisioned_at,
    ...(row.last_login_at === null ? {} : { 'last-login-at': row.last_login_at }),
    groups: list(row.groups),
  }));
  const fromApi = api.users.map((user) => ({ ...user, groups: [...(user.groups ?? [])].sort() }));
  t.same(fromSql, fromApi, 'the same users, fields and order as GET /jit-users?expand=groups');
  t.same(
    rows.map((row) => [row.user_id, list(row.identities)]),
    api.users.map((user) => [user['user-id'], api.identities.get(user['user-id'])]),
    'the same identities as GET /jit-users/{username}',
  );
  t.ok(rows.some((row) => list(row.identities).length === 2), 'a user with a linked second identity is among them');
  t.ok(rows.some((row) => row.active === false || row.active === 0), 'a deactivated user is among them');
}

t.test('SQLite: docs/jit-users.sqlite.sql answers what GET /jit-users answers', async (t) => {
  const test = await startTestApp();
  t.teardown(test.close);
  await provisionUsers(test);
  const sql = await readFile(SQL_FILES.sqlite, 'utf8');
  const db = new Database(join(test.dataDir, 'jit.db'), { readonly: true, fileMustExist: true });
  t.teardown(() => db.close());
  compare(t, db.prepare<[], SqlRow>(sql).all(), await apiView(test));
});

t.test('PostgreSQL: docs/jit-users.postgres.sql answers what GET /jit-users answers', async (t) => {
  const database = await createTestDatabase('jit_users_sql');
  const test = await startTestApp({ JIT_DATABASE_URL: database.url });
  t.teardown(async () => {
    await test.close();
    await database.drop();
  });
  await provisionUsers(test);
  const sql = await readFile(SQL_FILES.postgres, 'utf8');
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  t.teardown(() => client.end());
  compare(t, (await client.query<SqlRow>(sql)).rows, await apiView(test));
});

t.test('the README shows both queries exactly as in docs/', async (t) => {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  t.match(readme, /^## Finding JIT provisioned users with SQL$/m);
  for (const file of Object.values(SQL_FILES)) {
    const sql = await readFile(file, 'utf8');
    t.ok(readme.includes(`\`\`\`sql\n${sql}\`\`\``), `README.md shows ${file.slice(ROOT.length)} verbatim`);
  }
});
