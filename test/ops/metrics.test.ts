/**
 * GET /metrics on the embedded store and on PostgreSQL: logins by outcome, reason and IdP, their
 * latency, event store appends by backend, HTTP requests by route pattern, projection lag and
 * parked messages; public by default or behind JIT_METRICS_TOKEN; one registry per runtime.
 * /readyz turns 503 when the event store goes away.
 */
import t from 'tap';
import { ADMIN_TOKEN, oidcIdp, oidcLogin, samlIdp, samlLogin } from '../support/fixtures.js';
import { createTestDatabase } from '../support/postgres.js';
import { parseMetrics, valueOf, type Sample } from '../support/prometheus.js';
import { startTestApp } from '../support/testRuntime.js';
import { AUTHCONFIG, startApi, type Api } from '../api/fixtures/api.js';

async function scrape(api: Pick<Api, 'app'>, headers: Record<string, string> = {}): Promise<Sample[]> {
  const res = await api.app.inject({ method: 'GET', url: '/metrics', headers });
  if (res.statusCode !== 200) throw new Error(`GET /metrics answered ${res.statusCode}: ${res.body}`);
  return parseMetrics(res.body);
}

t.test('logins are counted by outcome, reason and IdP, with their latency and the appends they made', async (t) => {
  const api = await startApi(t);
  await api.createIdp(samlIdp());
  await api.createIdp(samlIdp({ id: 'closed', name: 'Closed' }, { 'user-provisioning-enabled': false }));
  t.equal((await api.login(samlLogin('alice'))).statusCode, 200);
  t.equal((await api.login(samlLogin('alice'))).statusCode, 200, 'the same attributes again: unchanged');
  t.equal((await api.login(samlLogin('alice', { email: ['alice@new.example.com'] }))).statusCode, 200, 'a new email: updated');
  t.equal((await api.login(samlLogin('bob', {}, { idpId: 'closed' }))).statusCode, 403, 'provisioning disabled: rejected');
  t.equal((await api.login(samlLogin('carol', {}, { idpId: 'no-such-idp-4242' }))).statusCode, 404, 'an unknown IdP: an error');

  const samples = await scrape(api);
  const logins = (outcome: string, reason: string, idp: string) => valueOf(samples, 'jit_logins_total', { outcome, reason, idp });
  t.equal(logins('provisioned', '', 'okta'), 1);
  t.equal(logins('unchanged', '', 'okta'), 1);
  t.equal(logins('updated', '', 'okta'), 1);
  t.equal(logins('rejected', 'provisioning-disabled', 'closed'), 1);
  t.equal(logins('error', 'idp-not-found', 'unknown'), 1, 'an IdP id nobody configured is not a label value');
  t.notOk(samples.some((s) => Object.values(s.labels).includes('no-such-idp-4242')), 'the unknown IdP id appears nowhere');
  for (const outcome of ['provisioned', 'unchanged', 'updated', 'rejected', 'error']) {
    t.equal(valueOf(samples, 'jit_login_duration_seconds_count', { outcome }), 1, `one ${outcome} login timed`);
    t.ok(valueOf(samples, 'jit_login_duration_seconds_sum', { outcome })! > 0, `${outcome}: a duration was recorded`);
  }
  // Two IdPs created, four logins that wrote (the failed one wrote nothing).
  t.equal(valueOf(samples, 'jit_event_store_append_seconds_count', { backend: 'sqlite' }), 6, 'every append is timed, with its backend');
  t.equal(valueOf(samples, 'jit_event_store_append_seconds_bucket', { backend: 'sqlite', le: '+Inf' }), 6);
});

t.test('HTTP requests are counted by method, route pattern and status, never by raw URL', async (t) => {
  const api = await startApi(t);
  await api.createIdp(samlIdp());
  await api.loginOk(samlLogin('alice-private-name'));
  t.equal((await api.get(`${AUTHCONFIG}/jit-users/alice-private-name`)).statusCode, 200);
  t.equal((await api.get(`${AUTHCONFIG}/jit-users/nobody-private-name`)).statusCode, 404);
  t.equal((await api.app.inject({ method: 'GET', url: '/no/route/secret-looking-path?token=abc' })).statusCode, 404);
  t.equal((await api.app.inject({ method: 'GET', url: `${AUTHCONFIG}/jit-users` })).statusCode, 401);
  const res = await api.app.inject({ method: 'GET', url: '/metrics' });
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  for (const raw of ['alice-private-name', 'nobody-private-name', 'secret-looking-path', 'token=abc']) t.notOk(res.body.includes(raw), `${raw} is no label value`);
  const samples = parseMetrics(res.body);
  const requests = (method: string, route: string, status: string) => valueOf(samples, 'jit_http_requests_total', { method, route, status });
  t.equal(requests('GET', '/rest/authconfig/1.0/jit-users/:username', '200'), 1);
  t.equal(requests('GET', '/rest/authconfig/1.0/jit-users/:username', '404'), 1);
  t.equal(requests('GET', '/rest/authconfig/1.0/jit-users', '401'), 1);
  t.equal(requests('GET', 'unmatched', '404'), 1, 'a URL no route matches is one label value');
  t.equal(requests('POST', '/rest/jit/1.0/logins', '200'), 1);
  t.equal(valueOf(samples, 'jit_http_request_duration_seconds_count', { method: 'POST', route: '/rest/jit/1.0/logins', status: '200' }), 1);
  t.ok(valueOf(samples, 'process_cpu_user_seconds_total') !== undefined, 'default process metrics are there');
  t.ok(valueOf(samples, 'nodejs_heap_size_used_bytes') !== undefined);
});

t.test('projection lag and parked messages are read at scrape time; no relay without Kafka', async (t) => {
  const api = await startApi(t);
  await api.createIdp(samlIdp());
  await api.settled();
  let samples = await scrape(api);
  t.equal(valueOf(samples, 'jit_projection_lag_events'), 0);
  t.equal(valueOf(samples, 'jit_parked_messages', { consumer: 'projections' }), 0);
  t.equal(valueOf(samples, 'jit_parked_messages', { consumer: 'logins' }), 0);
  t.equal(valueOf(samples, 'jit_relay_lag_events'), undefined, 'no relay lag without Kafka');
  t.equal(valueOf(samples, 'jit_projection_delay_seconds_count'), 1, 'the IdP event was projected, and its delay observed');
  t.equal(valueOf(samples, 'jit_relay_publish_delay_seconds_count'), 0, 'nothing published without Kafka');
  await api.login(samlLogin('zoe'));
  await api.settled();
  samples = await scrape(api);
  t.equal(valueOf(samples, 'jit_projection_delay_seconds_count'), 3, 'and the two events of a first login');
  const sum = valueOf(samples, 'jit_projection_delay_seconds_sum')!;
  t.ok(sum >= 0 && sum < 60, `the delays are seconds since the events were recorded (${sum})`);
  t.equal(valueOf(samples, 'jit_projection_delay_seconds_bucket', { le: '300' }), 3);
  await api.runtime.projector!.stop();
  await api.login(samlLogin('alice'));
  await api.login(samlLogin('bob'));
  samples = await scrape(api);
  t.equal(valueOf(samples, 'jit_projection_lag_events'), 4, 'two logins of two events each are not projected');
  t.equal(valueOf(samples, 'jit_projection_delay_seconds_count'), 3, 'no delay observed for what is not projected');
  await api.runtime.backends.parking.park({ consumer: 'logins', topic: 't', partition: 0, offset: '7', key: null, value: 'x', headers: {}, reason: 'test' });
  samples = await scrape(api);
  t.equal(valueOf(samples, 'jit_parked_messages', { consumer: 'logins' }), 1);
});

t.test('JIT_METRICS_TOKEN puts /metrics behind a bearer token', async (t) => {
  const token = 'metrics-token-0123456789abcdef';
  const api = await startApi(t, { JIT_METRICS_TOKEN: token });
  const none = await api.app.inject({ method: 'GET', url: '/metrics' });
  t.equal(none.statusCode, 401);
  t.equal(none.json().error, 'unauthorized');
  t.match(none.headers['www-authenticate'], /^Bearer/);
  t.equal((await api.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer metrics-token-0123456789abcdeX' } })).statusCode, 401);
  t.equal((await api.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${token}` } })).statusCode, 200);
  t.equal((await api.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'health stays public');
  const open = await startApi(t);
  t.equal((await open.app.inject({ method: 'GET', url: '/metrics' })).statusCode, 200, 'without the variable, /metrics is public');
});

t.test('each runtime has its own registry', async (t) => {
  const one = await startApi(t);
  const two = await startApi(t);
  await one.createIdp(oidcIdp());
  t.equal((await one.login(oidcLogin('x'))).statusCode, 200);
  t.equal(valueOf(await scrape(one), 'jit_logins_total', { outcome: 'provisioned', reason: '', idp: 'entra' }), 1);
  t.equal(valueOf(await scrape(two), 'jit_logins_total', { outcome: 'provisioned', reason: '', idp: 'entra' }), undefined, 'the other runtime counted nothing');
});

t.test('PostgreSQL: appends are labelled postgres; /readyz turns 503 when the database goes away', async (t) => {
  const database = await createTestDatabase('ops_metrics');
  const test = await startTestApp({ JIT_DATABASE_URL: database.url });
  t.teardown(async () => {
    await test.close().catch(() => undefined);
    await database.drop();
  });
  const api = { app: test.app };
  await test.app.inject({ method: 'POST', url: `${AUTHCONFIG}/idps`, headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, payload: samlIdp() as object });
  t.equal(valueOf(await scrape(api), 'jit_event_store_append_seconds_count', { backend: 'postgres' }), 1);
  const ready = await test.app.inject({ method: 'GET', url: '/readyz' });
  t.equal(ready.statusCode, 200);
  t.equal(ready.json().checks['event-store'].ok, true);

  await database.drop();
  const down = await test.app.inject({ method: 'GET', url: '/readyz' });
  t.equal(down.statusCode, 503, 'the event store does not answer: not ready');
  t.equal(down.json().status, 'unavailable');
  t.equal(down.json().checks['event-store'].ok, false);
  t.equal((await test.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'still alive');
  t.equal((await test.app.inject({ method: 'GET', url: '/metrics' })).statusCode, 200, 'metrics still answer');
});
