/**
 * Kafka broker restart during ingestion, on a broker of this test's own (the shared one on 9092
 * serves other test files in parallel). Logins arrive both on jit.logins.v1 and over HTTP while the
 * broker is stopped and started again; a few malformed messages sit in the middle of the Kafka
 * stream. Afterwards every login is in the store exactly once per loginId, the malformed messages
 * are parked (and did not stop the logins after them), and the topic and the read model converge.
 */
import t from 'tap';
import type { LoginSucceeded } from '../../schemas/types.gen.js';
import { samlIdp, samlLogin } from '../support/fixtures.js';
import { startCluster } from '../support/cluster.js';
import { describeReadModelReport, describeTopicReport, pollUntil } from '../support/convergence.js';
import { startDedicatedBroker } from '../support/dedicatedKafka.js';
import { faultsAt, postLogin, randomPoints, runLoginStream, seededRandom, testSeed } from '../support/loginStream.js';
import { assertBuilt } from '../support/processes.js';

const PORT = Number(process.env['JIT_TEST_KAFKA_RESTART_PORT'] ?? '19092');
const KAFKA_LOGINS = 200;
const HTTP_LOGINS = 160;

assertBuilt();
const seed = testSeed();
const random = seededRandom(seed);
t.comment(`seed ${seed} (JIT_TEST_SEED=${seed} repeats this run)`);

const broker = await startDedicatedBroker(t, { instance: 'test-broker-restart', port: PORT });
const cluster = await startCluster(t, 'broker_restart', { brokers: broker.brokers });
const app = await cluster.processes.start({ name: 'api-provisioning-relay-projections', services: ['api', 'provisioning', 'relay', 'projections'], env: cluster.env });
await cluster.createIdp(samlIdp(), app.url());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

t.test('the broker stops and starts while logins stream in: nothing is lost, nothing doubles', async (t) => {
  const producer = cluster.kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 2 } });
  await producer.connect();
  t.teardown(() => producer.disconnect().catch(() => undefined));
  let sendRetries = 0;
  /** Produces until the broker acknowledges: a login counts as produced only then. */
  const produce = async (key: string, value: string): Promise<void> => {
    const deadline = Date.now() + 180_000;
    for (;;) {
      try {
        await producer.send({ topic: cluster.topics.logins, acks: -1, messages: [{ key, value }] });
        return;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        sendRetries += 1;
        await sleep(500);
      }
    }
  };
  const produceLogin = (login: LoginSucceeded) => produce(`${login.idpId}:${login.subject}`, JSON.stringify(login));

  const outage = { stoppedAt: 0, startedAt: 0, sentBefore: 0 };
  const malformedAt = Math.floor(KAFKA_LOGINS * (0.15 + 0.1 * random()));
  const malformed = [
    { key: 'okta:garbage', value: '{not json' },
    { key: 'okta:invalid', value: JSON.stringify({ loginId: 'not-a-uuid', idpId: 'okta', protocol: 'saml' }) },
    { key: 'no-such-idp:x', value: JSON.stringify(samlLogin('x', {}, { idpId: 'no-such-idp' })) },
  ];
  let loginsAfterMalformed = 0;
  let malformedSent = false;
  const resent: string[] = [];
  const [restartAt] = randomPoints(random, KAFKA_LOGINS, 1, 0.3, 0.5);
  const faults = faultsAt([restartAt!], async (_k, sent) => {
    outage.sentBefore = sent;
    await broker.stop();
    outage.stoppedAt = Date.now();
    // Down long enough for every client to notice: failed sends, fetches and heartbeats.
    await sleep(5000);
    await broker.start();
    outage.startedAt = Date.now();
  });

  const viaKafka = runLoginStream({
    total: KAFKA_LOGINS,
    concurrency: 3,
    random,
    subjectPrefix: 'bk-',
    async send(login, index) {
      if (index >= malformedAt && !malformedSent) {
        malformedSent = true;
        for (const m of malformed) await produce(m.key, m.value);
      }
      await produceLogin(login);
      if (malformedSent) loginsAfterMalformed += 1;
      // Some logins are delivered twice on purpose: the same loginId must add nothing.
      if (random() < 0.05) {
        await produceLogin(login);
        resent.push(login.loginId);
      }
      return 'produced';
    },
    beforeSend: faults.gate,
    onSent: faults.onSent,
  });
  const viaHttp = runLoginStream({ total: HTTP_LOGINS, concurrency: 2, random, subjectPrefix: 'bh-', send: (login) => postLogin(app.url(), login) });
  const [kafkaStream, httpStream] = await Promise.all([viaKafka, viaHttp]);
  await faults.finished();

  t.same(kafkaStream.failures, [], 'every Kafka login was acknowledged by the broker (retrying while it was down)');
  t.same(httpStream.failures, [], 'every HTTP login was answered 200, also while the broker was down');
  t.ok(outage.stoppedAt > 0 && outage.startedAt > outage.stoppedAt, 'the broker was stopped and started again');
  t.ok(outage.sentBefore < KAFKA_LOGINS, 'while logins were being produced');
  t.ok(malformedSent && loginsAfterMalformed > 0, 'malformed messages sat in the middle of the stream');
  t.comment(
    `Kafka logins ${kafkaStream.sent} (${kafkaStream.firstLogins} first, ${kafkaStream.updates} updates, ${resent.length} sent twice on purpose, ${sendRetries} send retries), ` +
      `HTTP logins ${httpStream.sent} (${JSON.stringify(httpStream.outcomes)}); broker stopped after ${outage.sentBefore} Kafka logins, ` +
      `down ${outage.startedAt - outage.stoppedAt} ms until it answered again; ${malformed.length} malformed messages after ${malformedAt} logins, ${loginsAfterMalformed} logins after them`,
  );

  // Every loginId is in the store exactly once: one UserLoggedIn, at most one UserProvisioned/UserUpdated.
  const loginIds = [...kafkaStream.loginIds, ...httpStream.loginIds];
  const perLogin = async () => {
    const counts = new Map<string, Map<string, number>>();
    for (const event of await cluster.backends.store.readAll()) {
      const id = event.metadata.loginId;
      if (!id) continue;
      const byType = counts.get(id) ?? new Map<string, number>();
      byType.set(event.type, (byType.get(event.type) ?? 0) + 1);
      counts.set(id, byType);
    }
    return counts;
  };
  const handled = await pollUntil(perLogin, (counts) => loginIds.every((id) => counts.has(id)), 150_000);
  const absent = loginIds.filter((id) => !handled.value.has(id));
  t.comment(`all ${loginIds.length} logins in the store ${handled.ms} ms after the streams ended (${absent.length} absent)`);
  t.same(absent.slice(0, 5), [], 'every login produced or posted reached the store');
  const twice = loginIds.filter((id) => {
    const c = handled.value.get(id);
    return c && (c.get('UserLoggedIn') !== 1 || (c.get('UserProvisioned') ?? 0) > 1 || (c.get('UserUpdated') ?? 0) > 1 || c.has('LoginRejected'));
  });
  t.same(twice.slice(0, 5), [], 'exactly once per loginId: one UserLoggedIn, at most one UserProvisioned or UserUpdated, no rejection');
  t.equal(handled.value.size, loginIds.length, 'no events for logins nobody sent');

  const parked = await pollUntil(() => cluster.backends.parking.list({ consumer: 'logins' }), (list) => list.length >= malformed.length, 60_000);
  t.comment(`parked logins: ${parked.value.map((p) => `${p.key}: ${p.reason.slice(0, 60)}`).join(' | ')}`);
  t.equal(parked.value.length, malformed.length, 'each malformed message is parked once, not fatal');
  t.ok(parked.value.some((p) => p.key === 'okta:garbage' && /not JSON/.test(p.reason)), 'invalid JSON is parked');
  t.ok(parked.value.some((p) => p.key === 'okta:invalid' && /is missing|must/.test(p.reason)), 'a schema-invalid login is parked');
  t.ok(parked.value.some((p) => p.key === 'no-such-idp:x' && /idp-not-found/.test(p.reason)), 'a login for an unknown IdP is parked');

  const head = await cluster.backends.store.headPosition();
  const relayed = await pollUntil(() => cluster.relayCheckpoint(), (p) => p >= head, 120_000, 500);
  t.ok(relayed.settled, `the relay published up to the head ${head} (checkpoint ${relayed.value})`);
  const topic = await cluster.topicReport();
  t.comment(describeTopicReport(topic));
  t.same(topic.missing.slice(0, 5), [], 'every user event of the store is on jit.users.v1');
  t.same(topic.violations.slice(0, 5), [], 'in per-user order');

  const converged = await pollUntil(() => cluster.readModelReport(app.url()), (r) => r.mismatches.length === 0, 120_000);
  t.comment(`read model: ${describeReadModelReport(converged.value)}`);
  t.same(converged.value.mismatches.slice(0, 5), [], 'the read model equals the fold of the store');
  t.equal(converged.value.foldedUsers, kafkaStream.firstLogins + httpStream.firstLogins, 'one user per first login');
  let stale = 0;
  for (const want of [...kafkaStream.expected.values(), ...httpStream.expected.values()]) {
    const user = await cluster.backends.readModel.findUser(want.subject);
    if (user?.email !== want.email || user.displayName !== want.displayName) stale += 1;
  }
  t.equal(stale, 0, 'every user ends with the attributes of its last login');
});
