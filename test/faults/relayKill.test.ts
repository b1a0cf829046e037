/**
 * Kill the relay mid-stream: process A takes logins over HTTP and projects, process B only runs the
 * relay. B is SIGKILLed several times at random moments while logins stream in, and restarted.
 * Afterwards every user event of the store is on jit.users.v1 (at least once), per-user order
 * holds, and the read model (fed from the topic) equals the fold of the store.
 */
import t from 'tap';
import { samlIdp } from '../support/fixtures.js';
import { assertKafkaReachable } from '../support/kafka.js';
import { startCluster } from '../support/cluster.js';
import { describeReadModelReport, describeTopicReport, pollUntil } from '../support/convergence.js';
import { faultsAt, postLogin, randomPoints, runLoginStream, seededRandom, testSeed } from '../support/loginStream.js';

const TOTAL = 360;
const KILLS = 3;

await assertKafkaReachable();
const seed = testSeed();
const random = seededRandom(seed);
t.comment(`seed ${seed} (JIT_TEST_SEED=${seed} repeats this run)`);

const cluster = await startCluster(t, 'relay_kill');
const [api, relay] = await Promise.all([
  cluster.processes.start({ name: 'api-provisioning-projections', services: ['api', 'provisioning', 'projections'], env: cluster.env }),
  cluster.processes.start({ name: 'relay', services: ['relay'], env: cluster.env }),
]);
await cluster.createIdp(samlIdp(), api.url());

t.test('SIGKILLed relay: the topic still holds every user event, in per-user order', async (t) => {
  const kills: { sent: number; head: number; published: number }[] = [];
  const faults = faultsAt(randomPoints(random, TOTAL, KILLS), async (_k, sent) => {
    // A random moment inside the slice, not just the progress point.
    await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 400)));
    await relay.kill();
    kills.push({ sent, head: await cluster.backends.store.headPosition(), published: await cluster.relayCheckpoint() });
    await relay.start();
  });
  const stream = await runLoginStream({
    total: TOTAL,
    concurrency: 4,
    random,
    subjectPrefix: 'rk-',
    send: (login) => postLogin(api.url(), login),
    beforeSend: faults.gate,
    onSent: faults.onSent,
  });
  await faults.finished();

  t.same(stream.failures, [], 'every login was answered 200');
  t.equal(kills.length, KILLS, `the relay was killed ${KILLS} times`);
  t.ok(kills.every((k) => k.sent < TOTAL), 'every kill happened while logins were being sent');
  t.equal(relay.starts(), KILLS + 1, 'and restarted after each kill');
  for (const [i, k] of kills.entries()) t.comment(`kill ${i + 1}: after ${k.sent} logins; store head ${k.head}, relay checkpoint ${k.published} (${k.head - k.published} unpublished)`);

  const head = await cluster.backends.store.headPosition();
  const caughtUp = await pollUntil(() => cluster.relayCheckpoint(), (p) => p >= head, 90_000, 250);
  t.ok(caughtUp.settled, `the restarted relay published up to the head ${head} (checkpoint ${caughtUp.value})`);

  const report = await cluster.topicReport();
  t.comment(`logins ${stream.sent} (${stream.firstLogins} first, ${stream.updates} updates; ${JSON.stringify(stream.outcomes)})`);
  t.comment(describeTopicReport(report));
  t.ok(report.storeUserEvents >= 2 * TOTAL, `the store holds at least two user events per login (${report.storeUserEvents})`);
  t.same(report.missing, [], 'every user event of the store is on the topic (ce_id sets)');
  t.same(report.foreign, [], 'nothing on the topic that the store does not hold');
  t.same(report.violations, [], 'per-user order: first occurrences of each key come by revision, without holes');
  t.equal(report.distinct, report.storeUserEvents);
  t.equal(report.messages, report.storeUserEvents + report.duplicates, 'the only extra messages are duplicates (at-least-once)');

  // Nothing lost downstream either: the projector reading the topic ends at the fold of the store.
  const converged = await pollUntil(() => cluster.readModelReport(), (r) => r.mismatches.length === 0, 90_000);
  t.comment(`read model after ${converged.ms} ms: ${describeReadModelReport(converged.value)}`);
  t.same(converged.value.mismatches.slice(0, 5), [], 'the read model equals the fold of the store');
  t.equal(converged.value.foldedUsers, stream.firstLogins, 'one user per first login');
  const final = await cluster.readModelReport(api.url());
  t.same(final.mismatches.slice(0, 5), [], 'GET /jit-users rows equal the fold');
  for (const [subject, want] of stream.expected) {
    const user = await cluster.backends.readModel.findUser(subject);
    if (user?.email !== want.email || user.displayName !== want.displayName) {
      t.fail(`${subject} ends with ${user?.email ?? '(missing)'} / ${user?.displayName ?? ''}, its last login said ${want.email} / ${want.displayName}`);
    }
  }
  t.pass(`each of the ${stream.expected.size} users ends with the attributes of its last login`);
});
