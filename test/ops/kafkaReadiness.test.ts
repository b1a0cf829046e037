/**
 * Kafka mode on the real broker: relay lag and projection lag (high watermarks - the projections
 * group's committed offsets) in /metrics, parked logins, and /readyz — 503 once the projection
 * lags beyond JIT_PROJECTION_MAX_LAG, and 503 while the broker is down (a broker of the test's
 * own, stopped and started again).
 */
import t from 'tap';
import { Partitioners } from 'kafkajs';
import { GATEWAY_TOKEN, samlIdp, samlLogin } from '../support/fixtures.js';
import { assertKafkaReachable, KAFKA_BROKERS, testKafka, uniquePrefix, waitUntil } from '../support/kafka.js';
import { parseMetrics, valueOf } from '../support/prometheus.js';
import { admin, startTestApp, type TestApp } from '../support/testRuntime.js';
import { startDedicatedBroker } from '../support/dedicatedKafka.js';

const READYZ_BROKER_PORT = Number(process.env['JIT_TEST_KAFKA_READYZ_PORT'] ?? '19192');

async function metric(test: TestApp, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const res = await test.app.inject({ method: 'GET', url: '/metrics' });
  return valueOf(parseMetrics(res.body), name, labels);
}

async function readyz(test: TestApp): Promise<{ status: number; body: { status: string; checks: Record<string, { ok: boolean; detail?: string }> } }> {
  const res = await test.app.inject({ method: 'GET', url: '/readyz' });
  return { status: res.statusCode, body: res.json() };
}

async function login(test: TestApp, subject: string): Promise<void> {
  const res = await test.app.inject({ method: 'POST', url: '/rest/jit/1.0/logins', headers: { authorization: `Bearer ${GATEWAY_TOKEN}` }, payload: samlLogin(subject) as object });
  if (res.statusCode !== 200) throw new Error(`login of ${subject}: ${res.statusCode} ${res.body}`);
}

t.test('relay and projection lag from Kafka; readyz turns 503 beyond JIT_PROJECTION_MAX_LAG', async (t) => {
  await assertKafkaReachable();
  const prefix = uniquePrefix('ops');
  const test = await startTestApp({ JIT_KAFKA_BROKERS: KAFKA_BROKERS, JIT_KAFKA_TOPIC_PREFIX: prefix, JIT_PROJECTION_MAX_LAG: '3' });
  t.teardown(test.close);
  t.equal((await test.app.inject({ method: 'POST', url: '/rest/authconfig/1.0/idps', headers: admin, payload: samlIdp() as object })).statusCode, 201);
  await login(test, 'alice');
  await login(test, 'bob');
  await waitUntil(async () => (await metric(test, 'jit_relay_lag_events')) === 0 && (await metric(test, 'jit_projection_lag_events')) === 0, 30_000, 'relay and projections to catch up');
  // Two first logins of two events each (the IdP event stays internal but passes the relay too).
  t.equal(await metric(test, 'jit_relay_publish_delay_seconds_count'), 5, 'Kafka acknowledged five events, each with its delay');
  await waitUntil(async () => (await metric(test, 'jit_projection_delay_seconds_count')) === 4, 30_000, 'the projection delay of the four user events');
  for (const name of ['jit_relay_publish_delay_seconds_sum', 'jit_projection_delay_seconds_sum']) {
    const sum = (await metric(test, name))!;
    t.ok(sum > 0 && sum < 150, `${name}: seconds since the events were recorded (${sum})`);
  }
  const caughtUp = await readyz(test);
  t.equal(caughtUp.status, 200);
  t.same(caughtUp.body.checks, { 'event-store': { ok: true }, kafka: { ok: true }, projection: { ok: true, detail: 'lag 0 events' } });

  // The projector stops; the relay goes on publishing: the group's committed offsets fall behind.
  await test.runtime.kafka!.projector!.stop();
  await login(test, 'carol');
  await login(test, 'dave');
  await waitUntil(async () => (await metric(test, 'jit_relay_lag_events')) === 0, 30_000, 'the relay to publish');
  t.equal(await metric(test, 'jit_projection_lag_events'), 4, 'two logins of two events each wait on jit.users.v1');
  const behind = await readyz(test);
  t.equal(behind.status, 503);
  t.same(behind.body, { status: 'unavailable', checks: { 'event-store': { ok: true }, kafka: { ok: true }, projection: { ok: false, detail: 'lag 4 events' } } });
  t.equal((await test.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'alive all the same');

  // A malformed login on jit.logins.v1 is parked and counted.
  const producer = testKafka().producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  await producer.send({ topic: `${prefix}jit.logins.v1`, messages: [{ key: 'okta:x', value: 'not json' }] });
  await producer.disconnect();
  await waitUntil(async () => (await metric(test, 'jit_parked_messages', { consumer: 'logins' })) === 1, 30_000, 'the malformed login to be parked');
  t.equal(await metric(test, 'jit_parked_messages', { consumer: 'projections' }), 0);
});

t.test('readyz is 503 while the broker is down, and ready again once it is back', async (t) => {
  const broker = await startDedicatedBroker(t, { instance: 'test-ops-readyz', port: READYZ_BROKER_PORT });
  const test = await startTestApp({ JIT_KAFKA_BROKERS: broker.brokers, JIT_KAFKA_TOPIC_PREFIX: uniquePrefix('readyz') });
  let closed = false;
  t.teardown(async () => {
    if (!closed) await test.close();
  });
  await waitUntil(async () => (await readyz(test)).status === 200, 30_000, 'ready with the broker up');
  t.equal((await readyz(test)).body.checks['kafka']?.ok, true);

  await broker.stop();
  const started = Date.now();
  const down = await readyz(test);
  t.equal(down.status, 503, 'the broker is down: not ready');
  t.equal(down.body.checks['kafka']?.ok, false);
  t.equal(down.body.checks['event-store']?.ok, true);
  t.ok(Date.now() - started < 5000, 'the probe answers within its bound');
  const scrape = await test.app.inject({ method: 'GET', url: '/metrics' });
  t.equal(scrape.statusCode, 200, 'metrics answer while the broker is down');
  t.ok(Number.isNaN(valueOf(parseMetrics(scrape.body), 'jit_projection_lag_events')), 'the Kafka projection lag is unknown (NaN), not a made-up number');

  await broker.start();
  await waitUntil(async () => (await readyz(test)).status === 200, 60_000, 'ready again once the broker is back');
  await test.close();
  closed = true;
});
