/**
 * The Kafka pipeline against the real broker and PostgreSQL: relay → jit.users.v1 → projections,
 * and jit.logins.v1 → provisioning.
 */
import { randomUUID } from 'node:crypto';
import t from 'tap';
import pino from 'pino';
import { buildApp } from '../../services/api/app.js';
import { isUserEventType } from '../../events/catalogue.js';
import { loadConfig } from '../../services/shared/config.js';
import { startRuntime, type Runtime } from '../../services/runtime.js';
import { ADMIN_TOKEN, GATEWAY_TOKEN, samlIdp, samlLogin } from '../support/fixtures.js';
import { assertKafkaReachable, readTopic, testKafka, uniquePrefix, waitUntil, KAFKA_BROKERS } from '../support/kafka.js';
import { createTestDatabase } from '../support/postgres.js';

await assertKafkaReachable();
const database = await createTestDatabase('pipeline');
t.teardown(database.drop);
const prefix = uniquePrefix('pipeline');

const env = {
  JIT_DATABASE_URL: database.url,
  JIT_KAFKA_BROKERS: KAFKA_BROKERS,
  JIT_KAFKA_TOPIC_PREFIX: prefix,
  JIT_ADMIN_TOKENS: ADMIN_TOKEN,
  JIT_GATEWAY_TOKENS: GATEWAY_TOKEN,
  JIT_LOG_LEVEL: 'silent',
};
const runtime: Runtime = await startRuntime(loadConfig(env), pino({ level: 'silent' }));
const app = await buildApp(runtime, { logger: false });
t.teardown(async () => {
  await app.close();
  await runtime.close();
});
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const gateway = { authorization: `Bearer ${GATEWAY_TOKEN}` };
const usersTopic = `${prefix}jit.users.v1`;

await app.inject({ method: 'POST', url: '/rest/authconfig/1.0/idps', headers: admin, payload: samlIdp() });

const listed = async () => JSON.parse((await app.inject({ method: 'GET', url: '/rest/authconfig/1.0/jit-users?limit=10000', headers: admin })).body) as { username: string; email: string }[];

t.test('logins over HTTP reach the topic in order and the read model through Kafka', async (t) => {
  for (let i = 0; i < 20; i++) {
    const res = await app.inject({ method: 'POST', url: '/rest/jit/1.0/logins', headers: gateway, payload: samlLogin(`user${i}`) });
    t.equal(res.statusCode, 200);
  }
  await app.inject({ method: 'POST', url: '/rest/jit/1.0/logins', headers: gateway, payload: samlLogin('user3', { email: ['changed@example.com'], groups: ['other'] }) });
  await waitUntil(async () => (await listed()).length === 20, 30_000, 'the read model to show 20 users');
  await waitUntil(async () => (await listed()).find((u) => u.username === 'user3')?.email === 'changed@example.com', 30_000, 'the update');

  const storeEvents = (await runtime.store.readAll()).filter((e) => isUserEventType(e.type));
  await waitUntil(() => (runtime.kafka?.relay?.published() ?? 0) >= storeEvents.at(-1)!.position, 30_000, 'the relay');
  const messages = await readTopic(usersTopic);
  const ids = messages.map((m) => m.headers?.['ce_id']?.toString());
  t.equal(new Set(ids).size, storeEvents.length, 'every user event is on the topic');
  t.same(new Set(ids), new Set(storeEvents.map((e) => e.eventId)));
  const sample = messages.find((m) => m.headers?.['ce_type']?.toString() === 'jit.UserProvisioned.v1')!;
  t.equal(sample.headers?.['ce_specversion']?.toString(), '1.0');
  t.equal(sample.headers?.['content-type']?.toString(), 'application/json');
  t.equal(sample.headers?.['ce_subject']?.toString(), sample.key?.toString(), 'ce_subject is the user id, also the key');
  t.ok(sample.headers?.['ce_time'] && sample.headers['ce_source'] && sample.headers['jit_position'] && sample.headers['jit_revision']);
  t.equal(JSON.parse(sample.value!.toString())['user-id'], sample.key?.toString(), 'the value is the event data');
  // Per-user order: within a key, revisions increase.
  const byKey = new Map<string, number[]>();
  for (const m of messages) byKey.set(m.key!.toString(), [...(byKey.get(m.key!.toString()) ?? []), Number(m.headers?.['jit_revision']?.toString())]);
  for (const [key, revisions] of byKey) t.same(revisions, [...revisions].sort((a, b) => a - b), `order of ${key}`);
});

t.test('an invalid message on jit.users.v1 is parked and does not block its partition', async (t) => {
  const producer = testKafka().producer();
  await producer.connect();
  const victim = randomUUID();
  const envelope = { ce_specversion: '1.0', ce_id: randomUUID(), ce_time: new Date().toISOString(), jit_position: '999999', jit_revision: '0' };
  await producer.send({ topic: usersTopic, messages: [{ key: victim, value: '{not json', headers: { ...envelope, ce_type: 'jit.UserProvisioned.v1' } }] });
  await producer.send({ topic: usersTopic, messages: [{ key: victim, value: '{}', headers: { ce_specversion: '1.0', ce_type: 'jit.UserTeleported.v1', ce_id: randomUUID() } }] });
  await producer.disconnect();
  await app.inject({ method: 'POST', url: '/rest/jit/1.0/logins', headers: gateway, payload: samlLogin('after-poison') });
  await waitUntil(async () => (await runtime.backends.parking.count('projections')) >= 2, 30_000, 'two parked messages');
  await waitUntil(async () => (await listed()).some((u) => u.username === 'after-poison'), 30_000, 'later events to be projected');
  const parked = await runtime.backends.parking.list({ consumer: 'projections' });
  t.ok(parked.some((p) => /not JSON/.test(p.reason)));
  t.ok(parked.some((p) => /unknown event type UserTeleported/.test(p.reason)));
});

t.test('jit.logins.v1: logins are provisioned through the same handler; malformed ones are parked', async (t) => {
  const producer = testKafka().producer();
  await producer.connect();
  const login = samlLogin('from-kafka', { groups: ['kafka-users'] });
  await producer.send({
    topic: `${prefix}jit.logins.v1`,
    messages: [
      { key: `okta:from-kafka`, value: JSON.stringify(login) },
      { key: 'x', value: 'garbage' },
      { key: 'y', value: JSON.stringify({ ...samlLogin('nobody'), idpId: 'no-such-idp' }) },
      { key: `okta:from-kafka`, value: JSON.stringify(login) },
    ],
  });
  await producer.disconnect();
  await waitUntil(async () => (await listed()).some((u) => u.username === 'from-kafka'), 30_000, 'the Kafka login to provision a user');
  await waitUntil(async () => (await runtime.backends.parking.count('logins')) >= 2, 30_000, 'two parked logins');
  const user = await runtime.readModel.findUser('from-kafka');
  t.same(Object.values(user!.groups).map((g) => g.name), ['kafka-users']);
  const history = await runtime.store.readStream(`user-${user!.userId}`);
  t.equal(history.filter((e) => e.type === 'UserProvisioned').length, 1, 'the redelivered login added nothing');
  const parked = await runtime.backends.parking.list({ consumer: 'logins' });
  t.ok(parked.some((p) => /not JSON/.test(p.reason)));
  t.ok(parked.some((p) => /idp-not-found/.test(p.reason)));
});
