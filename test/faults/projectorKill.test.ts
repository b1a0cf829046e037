/**
 * Kill the projector mid-stream: process A takes logins over HTTP and runs the relay, process P
 * only runs the Kafka projector. P is SIGKILLed several times while logins stream in (mid-batch:
 * its open transaction rolls back, its consumer-group offsets lag behind), and restarted.
 * Afterwards the read model equals the fold of the store, user by user, and counts the same users.
 */
import t from 'tap';
import { samlIdp, samlLogin } from '../support/fixtures.js';
import { assertKafkaReachable } from '../support/kafka.js';
import { startCluster } from '../support/cluster.js';
import { describeReadModelReport, pollUntil } from '../support/convergence.js';
import { faultsAt, postLogin, randomPoints, runLoginStream, seededRandom, testSeed } from '../support/loginStream.js';

const TOTAL = 360;
const KILLS = 3;

await assertKafkaReachable();
const seed = testSeed();
const random = seededRandom(seed);
t.comment(`seed ${seed} (JIT_TEST_SEED=${seed} repeats this run)`);

const cluster = await startCluster(t, 'projector_kill');
const [api, projector] = await Promise.all([
  cluster.processes.start({ name: 'api-provisioning-relay', services: ['api', 'provisioning', 'relay'], env: cluster.env }),
  cluster.processes.start({ name: 'projections', services: ['projections'], env: cluster.env }),
]);
await cluster.createIdp(samlIdp(), api.url());
// The projector has joined its group and is consuming before the stream starts.
await postLogin(api.url(), samlLogin('warm-up'));
await pollUntil(() => cluster.backends.readModel.findUser('warm-up'), (user) => user !== undefined, 90_000, 250);

t.test('SIGKILLed projector: the read model ends equal to the fold of the store', async (t) => {
  const users = async () => (await cluster.backends.readModel.listUsers({ start: 0, limit: 1, withGroups: false })).total;
  const kills: { sent: number; head: number; users: number; consuming: boolean }[] = [];
  let usersAtStart = await users();
  const faults = faultsAt(randomPoints(random, TOTAL, KILLS), async (_k, sent) => {
    await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 400)));
    await projector.kill();
    const now = await users();
    // Killed while applying batches, or while its group was still rebalancing after the last kill?
    kills.push({ sent, head: await cluster.backends.store.headPosition(), users: now, consuming: now > usersAtStart });
    await projector.start();
    usersAtStart = await users();
  });
  const stream = await runLoginStream({
    total: TOTAL,
    concurrency: 4,
    random,
    subjectPrefix: 'pk-',
    send: (login) => postLogin(api.url(), login),
    beforeSend: faults.gate,
    onSent: faults.onSent,
  });
  await faults.finished();
  const streamEnded = Date.now();

  t.same(stream.failures, [], 'every login was answered 200');
  t.equal(kills.length, KILLS, `the projector was killed ${KILLS} times`);
  t.ok(kills.every((k) => k.sent < TOTAL), 'every kill happened while logins were being sent');
  t.equal(projector.starts(), KILLS + 1, 'and restarted after each kill');
  for (const [i, k] of kills.entries()) {
    t.comment(`kill ${i + 1}: after ${k.sent} logins; store head ${k.head}, ${k.users} users in the read model; ${k.consuming ? 'while consuming' : 'while its group was still rebalancing'}`);
  }
  t.ok(kills[0]?.consuming, 'the first kill hit a projector in the middle of its work');
  t.comment(`logins ${stream.sent} (${stream.firstLogins} first, ${stream.updates} updates; ${JSON.stringify(stream.outcomes)})`);

  // A SIGKILLed consumer stays in the group until its session times out; give that time.
  const converged = await pollUntil(() => cluster.readModelReport(), (r) => r.mismatches.length === 0, 150_000, 1000);
  t.comment(`read model converged ${Date.now() - streamEnded} ms after the stream ended: ${describeReadModelReport(converged.value)}`);
  t.ok(converged.settled, 'the read model converged');
  t.same(converged.value.mismatches.slice(0, 5), [], 'findUser of every user equals the fold of its stream (groups with provenance, identities, dates)');
  t.equal(converged.value.listedUsers, converged.value.foldedUsers, 'the read model counts as many users as the store provisioned');
  t.equal(converged.value.foldedUsers, stream.firstLogins + 1, 'one user per first login (and the warm-up)');

  const viaHttp = await cluster.readModelReport(api.url());
  t.same(viaHttp.mismatches.slice(0, 5), [], 'GET /jit-users?expand=groups rows equal the fold (username, display-name, email, active, groups)');
  let stale = 0;
  for (const [subject, want] of stream.expected) {
    const user = await cluster.backends.readModel.findUser(subject);
    if (user?.email !== want.email || user.displayName !== want.displayName) stale += 1;
  }
  t.equal(stale, 0, `each of the ${stream.expected.size} users ends with the attributes of its last login`);
  const parked = await cluster.backends.parking.count('projections');
  t.equal(parked, 0, 'nothing was parked');
});
