/** GET /healthz (liveness) and GET /readyz (store reachable, projection lag bounded). */
import t from 'tap';
import { samlIdp, samlLogin } from '../support/fixtures.js';
import { startApi } from './fixtures/api.js';

t.test('healthz', async (t) => {
  const api = await startApi(t);
  const res = await api.app.inject({ method: 'GET', url: '/healthz' });
  t.equal(res.statusCode, 200);
  t.same(res.json(), { status: 'ok' });
  t.match(res.headers['x-request-id'], /^[0-9a-f-]{36}$/, 'every answer names its request');
  const traced = await api.app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'trace-123.abc' } });
  t.equal(traced.headers['x-request-id'], 'trace-123.abc', 'a caller-given request id is kept');
  const hostile = await api.app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'bad id\twith spaces' } });
  t.match(hostile.headers['x-request-id'], /^[0-9a-f-]{36}$/, 'an unusable one is replaced');
});

t.test('readyz: ready once the projection has caught up', async (t) => {
  const api = await startApi(t);
  await api.createIdp(samlIdp());
  await api.loginOk(samlLogin('alice'));
  const res = await api.app.inject({ method: 'GET', url: '/readyz' });
  t.equal(res.statusCode, 200);
  t.same(res.json(), { status: 'ok', checks: { 'event-store': { ok: true }, projection: { ok: true, detail: 'lag 0 events' } } });
});

t.test('readyz reports projection lag, and 503 beyond JIT_PROJECTION_MAX_LAG', async (t) => {
  const api = await startApi(t, { JIT_PROJECTION_MAX_LAG: '2' });
  await api.createIdp(samlIdp());
  await api.settled();
  // A stalled projection: the store moves on, the read model does not.
  await api.runtime.projector!.stop();
  await api.login(samlLogin('alice'));
  const lagging = await api.app.inject({ method: 'GET', url: '/readyz' });
  t.equal(lagging.statusCode, 200, 'a lag within the bound is still ready');
  t.same(lagging.json().checks.projection, { ok: true, detail: 'lag 2 events' });
  await api.login(samlLogin('bob'));
  const behind = await api.app.inject({ method: 'GET', url: '/readyz' });
  t.equal(behind.statusCode, 503);
  t.same(behind.json(), { status: 'unavailable', checks: { 'event-store': { ok: true }, projection: { ok: false, detail: 'lag 4 events' } } });
  const live = await api.app.inject({ method: 'GET', url: '/healthz' });
  t.equal(live.statusCode, 200, 'liveness does not depend on the projection');
});

t.test('without the projections service there is no projection check', async (t) => {
  const api = await startApi(t, { JIT_SERVICES: 'api' });
  const res = await api.app.inject({ method: 'GET', url: '/readyz' });
  t.equal(res.statusCode, 200);
  t.same(res.json(), { status: 'ok', checks: { 'event-store': { ok: true } } });
});
