/**
 * Horizontal scale: several `jit serve` processes share one PostgreSQL database and one Kafka
 * cluster — two API/provisioning processes, two relays and a projector. Racing first logins of one
 * identity across the APIs provision it once; identities racing for one username give exactly one
 * user; of two relays only the advisory-lock holder publishes, and killing it hands over.
 */
import t from 'tap';
import { userStreamId } from '../../events/catalogue.js';
import { RELAY_LOCK } from '../../services/kafkaServices.js';
import { userIdOf } from '../../services/shared/ids.js';
import { samlIdp, samlLogin } from '../support/fixtures.js';
import { assertKafkaReachable } from '../support/kafka.js';
import { startCluster } from '../support/cluster.js';
import { describeReadModelReport, describeTopicReport, pollUntil } from '../support/convergence.js';
import { postLogin, postLoginRaw, runLoginStream, seededRandom, testSeed } from '../support/loginStream.js';
import type { JitProcess } from '../support/processes.js';

await assertKafkaReachable();
const seed = testSeed();
const random = seededRandom(seed);
t.comment(`seed ${seed} (JIT_TEST_SEED=${seed} repeats this run)`);

const cluster = await startCluster(t, 'horizontal');
const { processes, env } = cluster;
const [api1, api2, , relay1, relay2] = await Promise.all([
  processes.start({ name: 'api-1', services: ['api', 'provisioning'], env }),
  processes.start({ name: 'api-2', services: ['api', 'provisioning'], env }),
  processes.start({ name: 'projections', services: ['projections'], env }),
  processes.start({ name: 'relay-1', services: ['relay'], env }),
  processes.start({ name: 'relay-2', services: ['relay'], env }),
]);
const apis = [api1, api2];
await cluster.createIdp(samlIdp(), api1.url(), [api2.url()]);
await cluster.createIdp(
  samlIdp({ id: 'race', name: 'Username race', 'sso-url': 'https://race.example.com/sso', 'sso-issuer': 'https://race.example.com/metadata', 'username-attribute': '${login}' }),
  api1.url(),
  [api2.url()],
);

const countBy = (values: readonly string[]) => values.reduce<Record<string, number>>((acc, v) => ({ ...acc, [v]: (acc[v] ?? 0) + 1 }), {});

t.test('30 concurrent first logins of one identity over two processes provision it once', async (t) => {
  const logins = Array.from({ length: 30 }, () => samlLogin('same-person'));
  const answers = await Promise.all(logins.map((login, i) => postLoginRaw(apis[i % 2]!.url(), login)));
  const statuses = countBy(answers.map((a) => String(a.status)));
  const outcomes = countBy(answers.map((a) => String(a.body['outcome'] ?? a.body['error'])));
  t.comment(`answers by status ${JSON.stringify(statuses)}, by outcome ${JSON.stringify(outcomes)}`);
  t.same(statuses, { 200: 30 }, 'every answer is 200 (never a 5xx)');
  t.equal(outcomes['provisioned'], 1, 'exactly one answer says provisioned');
  t.equal(outcomes['unchanged'], 29, 'the other 29 say unchanged');
  const stream = await cluster.backends.store.readStream(userStreamId(userIdOf('okta', 'same-person')));
  const types = countBy(stream.map((e) => e.type));
  t.comment(`the identity's stream: ${JSON.stringify(types)}`);
  t.equal(types['UserProvisioned'], 1, 'exactly one UserProvisioned in the store');
  t.equal(types['UserLoggedIn'], 30, 'one UserLoggedIn per login');
  t.equal(new Set(stream.map((e) => e.metadata.loginId)).size, 30, 'each loginId once');
});

t.test('10 identities racing for one username over two processes: one user, nine username-conflicts', async (t) => {
  const logins = Array.from({ length: 10 }, (_, i) => samlLogin(`contender-${i}`, { login: ['Shared.Name'] }, { idpId: 'race' }));
  const answers = await Promise.all(logins.map((login, i) => postLoginRaw(apis[i % 2]!.url(), login)));
  const results = countBy(answers.map((a) => `${a.status} ${String(a.body['outcome'] ?? a.body['reason'])}`));
  t.comment(`answers ${JSON.stringify(results)}`);
  t.same(results, { '200 provisioned': 1, '403 username-conflict': 9 }, 'one provisioned, the rest rejected with username-conflict');
  const events = await cluster.backends.store.readAll();
  const provisioned = events.filter((e) => e.type === 'UserProvisioned' && (e.data as { username: string }).username === 'Shared.Name');
  t.equal(provisioned.length, 1, 'exactly one UserProvisioned holds the username');
  const rejected = events.filter((e) => e.type === 'LoginRejected' && (e.data as { reason: string }).reason === 'username-conflict');
  t.equal(rejected.length, 9, 'nine LoginRejected(username-conflict)');
});

const leaderLocks = async () => {
  const { rows } = await cluster.backends.postgres!.pool.query<{ n: number }>(
    `SELECT COUNT(*)::int AS n FROM pg_locks
     WHERE locktype = 'advisory' AND granted AND objsubid = 1 AND ((classid::bigint << 32) | objid::bigint) = $1
       AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    [RELAY_LOCK],
  );
  return rows[0]?.n ?? 0;
};
const publishing = (relay: JitProcess) => relay.logLines(/^relay publishing$/).length;
const lastPublishing = (relay: JitProcess) => relay.logLines(/^relay publishing$/).at(-1)?.time ?? 0;

const streamOf = (total: number, prefix: string) =>
  runLoginStream({ total, concurrency: 4, random, subjectPrefix: prefix, send: (login, i) => postLogin(apis[i % 2]!.url(), login) });

t.test('two relays: only the lock holder publishes; killing it hands over and the topic stays complete', async (t) => {
  const elected = await pollUntil(async () => [publishing(relay1), publishing(relay2)], ([a, b]) => a! + b! > 0, 60_000, 250);
  t.ok(elected.settled, 'a relay became leader');
  const leader = publishing(relay1) > 0 ? relay1 : relay2;
  const standby = leader === relay1 ? relay2 : relay1;

  const before = await streamOf(60, 'hz-a-');
  t.same(before.failures, [], 'logins while both relays run');
  const head = await cluster.backends.store.headPosition();
  t.ok((await pollUntil(() => cluster.relayCheckpoint(), (p) => p >= head, 60_000, 250)).settled, 'the leader published everything');
  const locks = await leaderLocks();
  const both = await cluster.topicReport();
  t.comment(`leader ${leader.name}, standby ${standby.name}; advisory locks held: ${locks}; ${describeTopicReport(both)}`);
  t.equal(locks, 1, 'exactly one relay holds the advisory lock');
  t.equal(publishing(standby), 0, 'the standby never published');
  t.equal(both.duplicates, 0, 'no duplicates: one publisher at a time');
  t.same(both.missing, [], 'every user event so far is on the topic');

  const killedAt = Date.now();
  await leader.kill();
  const after = await streamOf(60, 'hz-b-');
  t.same(after.failures, [], 'logins after the leader died');
  const tookOver = await pollUntil(async () => publishing(standby), (n) => n > 0, 60_000, 250);
  t.ok(tookOver.settled, 'the standby took over');
  const takeoverMs = (standby.logLines(/^relay publishing$/)[0]?.time ?? NaN) - killedAt;
  t.comment(`the standby started publishing ${takeoverMs} ms after the leader was SIGKILLed`);
  t.ok(takeoverMs < 30_000, 'within seconds (the lock is released when its connection drops)');
  const finalHead = await cluster.backends.store.headPosition();
  const caughtUp = await pollUntil(() => cluster.relayCheckpoint(), (p) => p >= finalHead, 60_000, 250);
  t.ok(caughtUp.settled, `the new leader published up to the head ${finalHead}`);
  const report = await cluster.topicReport();
  t.comment(`after the takeover: ${describeTopicReport(report)}`);
  t.same(report.missing, [], 'the topic is complete');
  t.same(report.violations, [], 'and in per-user order');
  t.equal(await leaderLocks(), 1, 'one lock holder again');


  // The leader's database session dies under it (failover, an admin's pg_terminate_backend): it
  // must step down, and a relay — it or the other one — must lead again.
  await leader.start();
  const lostBefore = standby.logLines(/relay lost leadership/).length;
  const publishingBefore = publishing(leader) + publishing(standby);
  const { rows } = await cluster.backends.postgres!.pool.query<{ ok: boolean }>(
    `SELECT pg_terminate_backend(pid) AS ok FROM pg_locks
     WHERE locktype = 'advisory' AND granted AND objsubid = 1 AND ((classid::bigint << 32) | objid::bigint) = $1
       AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    [RELAY_LOCK],
  );
  t.same(rows.map((r) => r.ok), [true], 'the lock holder\'s session was terminated');
  const stepped = await pollUntil(async () => standby.logLines(/relay lost leadership/).length, (n) => n > lostBefore, 30_000, 250);
  t.ok(stepped.settled, 'the leader noticed and stepped down');
  const reelected = await pollUntil(async () => publishing(leader) + publishing(standby), (n) => n > publishingBefore, 30_000, 250);
  t.ok(reelected.settled, 'a relay leads again');
  const third = await streamOf(40, 'hz-c-');
  t.same(third.failures, [], 'logins after the session was terminated');
  const lastHead = await cluster.backends.store.headPosition();
  t.ok((await pollUntil(() => cluster.relayCheckpoint(), (p) => p >= lastHead, 60_000, 250)).settled, `published up to the head ${lastHead}`);
  const end = await cluster.topicReport();
  t.comment(`after the terminated session: ${describeTopicReport(end)}; leading now: ${lastPublishing(leader) > lastPublishing(standby) ? leader.name : standby.name}`);
  t.same(end.missing, [], 'the topic is complete');
  t.same(end.violations, [], 'and in per-user order');
  t.equal(await leaderLocks(), 1, 'one lock holder');

  const model = await pollUntil(() => cluster.readModelReport(api2.url()), (r) => r.mismatches.length === 0, 90_000);
  t.comment(`read model: ${describeReadModelReport(model.value)}`);
  t.same(model.value.mismatches.slice(0, 5), [], 'the read model equals the fold of the store');
});
