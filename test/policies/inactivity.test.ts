import t from 'tap';
import { admin, gateway, settled, startTestApp } from '../support/testRuntime.js';
import { samlIdp, samlLogin } from '../support/fixtures.js';

const DAY = 86_400_000;

t.test('inactivity policy: preview lists, run deactivates with reason inactive, twice changes nothing', async (t) => {
  let clock = Date.parse('2026-01-01T00:00:00Z');
  const { app, runtime, close } = await startTestApp({}, { now: () => new Date(clock) });
  t.teardown(close);
  await app.inject({ method: 'POST', url: '/rest/authconfig/1.0/idps', headers: admin, payload: samlIdp({}, { 'deactivate-after-days': 30 }) });
  await app.inject({ method: 'POST', url: '/rest/authconfig/1.0/idps', headers: admin, payload: samlIdp({ id: 'no-policy' }) });
  const login = (subject: string, idpId = 'okta') =>
    app.inject({ method: 'POST', url: '/rest/jit/1.0/logins', headers: gateway, payload: samlLogin(subject, {}, { idpId, authenticatedAt: new Date(clock).toISOString() }) });
  await login('idle');
  await login('never-again');
  await login('other-idp', 'no-policy');
  clock += 20 * DAY;
  await login('recent');
  clock += 15 * DAY;
  await login('never-again'.replace('never-again', 'busy'));
  await settled(runtime);

  const preview = await app.inject({ method: 'POST', url: '/rest/jit/1.0/inactivity/preview', headers: admin, payload: {} });
  t.equal(preview.statusCode, 200, preview.body);
  const body = JSON.parse(preview.body) as { users: { username: string; 'inactive-days': number; 'deactivate-after-days': number }[]; policies: { 'idp-id': string }[]; total: number };
  t.same(body.users.map((u) => u.username).sort(), ['idle', 'never-again']);
  t.equal(body.users[0]?.['inactive-days'], 35);
  t.equal(body.users[0]?.['deactivate-after-days'], 30);
  t.same(body.policies.map((p) => p['idp-id']), ['okta'], 'only IdPs with a policy');
  const headBefore = await runtime.store.headPosition();
  t.equal(headBefore, await runtime.store.headPosition(), 'preview wrote nothing');

  // A login between preview and run keeps that user active.
  await login('never-again');
  const run = await app.inject({ method: 'POST', url: '/rest/jit/1.0/inactivity/run', headers: admin });
  t.equal(run.statusCode, 200, run.body);
  t.same((JSON.parse(run.body) as { users: { username: string }[] }).users.map((u) => u.username), ['idle']);
  const idle = JSON.parse((await app.inject({ method: 'GET', url: '/rest/authconfig/1.0/jit-users/idle', headers: admin })).body) as { active: boolean };
  t.equal(idle.active, false);
  const history = JSON.parse((await app.inject({ method: 'GET', url: '/rest/authconfig/1.0/jit-users/idle/history', headers: admin })).body) as { type: string; data: { reason?: string } }[];
  t.same(history.at(-1), { ...history.at(-1), type: 'UserDeactivated', data: { ...history.at(-1)!.data, reason: 'inactive' } });
  const rejected = await login('idle');
  t.equal(rejected.statusCode, 403, 'a deactivated user is rejected');

  const head = await runtime.store.headPosition();
  const again = await app.inject({ method: 'POST', url: '/rest/jit/1.0/inactivity/run', headers: admin, payload: { idp: 'okta' } });
  t.equal((JSON.parse(again.body) as { total: number }).total, 0);
  t.equal(await runtime.store.headPosition(), head, 'running twice writes nothing');

  const unknown = await app.inject({ method: 'POST', url: '/rest/jit/1.0/inactivity/preview', headers: admin, payload: { idp: 'nope' } });
  t.equal(unknown.statusCode, 404);
  const bad = await app.inject({ method: 'POST', url: '/rest/jit/1.0/inactivity/run', headers: admin, payload: { idp: 'okta', force: true } });
  t.equal(bad.statusCode, 400);
  const forbidden = await app.inject({ method: 'POST', url: '/rest/jit/1.0/inactivity/run', headers: gateway });
  t.equal(forbidden.statusCode, 403);
});
