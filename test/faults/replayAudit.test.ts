/**
 * The operator commands on PostgreSQL + Kafka, run as real processes next to a server that keeps
 * writing: `jit replay` rebuilds the read model and swaps it in without losing what was written
 * meanwhile; `jit audit <user>` prints that user's events in order; `jit republish --from N`
 * re-emits the log from position N (and the projector shrugs the duplicates off).
 */
import t from 'tap';
import { isUserEventType, userStreamId } from '../../events/catalogue.js';
import { samlIdp } from '../support/fixtures.js';
import { assertKafkaReachable } from '../support/kafka.js';
import { startCluster } from '../support/cluster.js';
import { describeReadModelReport, describeTopicReport, foldStore, groupLag, pollUntil, readTopicRecords, topicSize } from '../support/convergence.js';
import { postLogin, runLoginStream, seededRandom, testSeed } from '../support/loginStream.js';

await assertKafkaReachable();
const seed = testSeed();
const random = seededRandom(seed);
t.comment(`seed ${seed} (JIT_TEST_SEED=${seed} repeats this run)`);

const cluster = await startCluster(t, 'replay_audit');
const server = await cluster.processes.start({ name: 'server', services: ['api', 'provisioning', 'relay', 'projections'], env: cluster.env });
await cluster.createIdp(samlIdp(), server.url());
const send = (login: Parameters<typeof postLogin>[1]) => postLogin(server.url(), login);

const settle = async () => {
  const head = await cluster.backends.store.headPosition();
  const relayed = await pollUntil(() => cluster.relayCheckpoint(), (p) => p >= head, 90_000, 250);
  const model = await pollUntil(() => cluster.readModelReport(server.url()), (r) => r.mismatches.length === 0, 90_000);
  return { head, relayed: relayed.settled, model: model.value };
};

t.test('jit replay while the server keeps writing: the swapped-in model loses nothing', async (t) => {
  const preload = await runLoginStream({ total: 300, concurrency: 6, random, subjectPrefix: 'ra-', send });
  t.same(preload.failures, [], 'preload');
  let sent = 0;
  let replayStarted = false;
  let release!: () => void;
  const writing = new Promise<void>((resolve) => (release = resolve));
  const writer = runLoginStream({
    total: 300,
    concurrency: 2,
    random,
    subjectPrefix: 'rw-',
    send,
    onSent: (n) => {
      sent = n;
      if (n >= 20) release();
    },
  });
  await writing;
  replayStarted = true;
  const headAtLaunch = await cluster.backends.store.headPosition();
  const sentAtLaunch = sent;
  const replay = await cluster.processes.run(['replay'], cluster.env);
  const sentAtEnd = sent;
  const headAtEnd = await cluster.backends.store.headPosition();
  const written = await writer;
  t.ok(replayStarted);
  t.same(written.failures, [], 'the writer never failed');
  t.equal(replay.code, 0, `jit replay exits 0 (stderr: ${replay.stderr.slice(-300)})`);
  const replayed = Number(/replayed (\d+) events/.exec(replay.stdout)?.[1] ?? NaN);
  t.comment(
    `head ${headAtLaunch} when jit replay started, it replayed ${replayed} events, head ${headAtEnd} when it ended; ` +
      `${sentAtEnd - sentAtLaunch} logins answered while it ran; the writer sent ${written.sent} in all`,
  );
  t.ok(replayed > headAtLaunch, 'the replay caught events written after it started');
  t.ok(sentAtEnd > sentAtLaunch, 'logins were written while the replay ran');

  const settled = await settle();
  t.comment(`after the writer stopped: head ${settled.head}; ${describeReadModelReport(settled.model)}`);
  t.ok(settled.head > replayed, 'writes continued after the swap');
  t.same(settled.model.mismatches.slice(0, 5), [], 'the read model equals the fold of the store');
  t.equal(settled.model.foldedUsers, preload.firstLogins + written.firstLogins, 'every user provisioned before, during and after the replay is there');
});

t.test('jit audit <user> prints the user\'s events in order', async (t) => {
  const { users } = await foldStore(cluster.backends.store);
  const streams = await Promise.all([...users.values()].map(async (u) => ({ user: u, events: await cluster.backends.store.readStream(userStreamId(u.userId)) })));
  const busiest = streams.sort((a, b) => b.events.length - a.events.length)[0]!;
  const result = await cluster.processes.run(['audit', busiest.user.username], cluster.env);
  t.equal(result.code, 0, `jit audit exits 0 (stderr: ${result.stderr.slice(-300)})`);
  const lines = result.stdout.trimEnd().split('\n');
  t.comment(`jit audit ${busiest.user.username}: ${lines.length} lines for ${busiest.events.length} events`);
  t.equal(lines.length, busiest.events.length, 'one line per event');
  const positions = lines.map((line) => Number(/#(\d+)/.exec(line)?.[1]));
  t.same(positions, busiest.events.map((e) => e.position), 'in stream order');
  t.same(
    lines.map((line) => /#\d+\s+(\w+)/.exec(line)?.[1]),
    busiest.events.map((e) => e.type),
    'each line names its event',
  );
  const json = await cluster.processes.run(['audit', busiest.user.username, '--json'], cluster.env);
  t.same(json.stdout.trimEnd().split('\n').map((line) => (JSON.parse(line) as { eventId: string }).eventId), busiest.events.map((e) => e.eventId), '--json: the same events');
  const unknown = await cluster.processes.run(['audit', 'nobody-by-that-name'], cluster.env);
  t.equal(unknown.code, 1, 'an unknown user exits 1');
});

t.test('jit republish --from N re-emits the log from position N', async (t) => {
  const settled = await settle();
  t.ok(settled.relayed, 'the relay is caught up before republishing');
  const events = await cluster.backends.store.readAll();
  const from = Math.max(1, Math.floor(settled.head / 2));
  const expected = events.filter((e) => e.position >= from && isUserEventType(e.type));
  const before = await topicSize(cluster.kafka, cluster.topics.users);
  const result = await cluster.processes.run(['republish', '--from', String(from)], cluster.env);
  t.equal(result.code, 0, `jit republish exits 0 (stderr: ${result.stderr.slice(-300)})`);
  const after = await topicSize(cluster.kafka, cluster.topics.users);
  const said = Number(/republished (\d+) user events/.exec(result.stdout)?.[1] ?? NaN);
  const summary = /^republished .*$/m.exec(result.stdout)?.[0] ?? result.stdout;
  t.comment(`jit republish --from ${from}: "${summary}"; topic ${before} → ${after} messages; ${expected.length} user events at positions ≥ ${from}`);
  t.equal(said, expected.length, 'it reports the user events from that position');
  t.equal(after - before, expected.length, 'and the topic grew by exactly that many messages');
  const records = await readTopicRecords(cluster.kafka, cluster.topics.users);
  const perId = new Map<string, number>();
  for (const r of records) perId.set(r.ceId, (perId.get(r.ceId) ?? 0) + 1);
  t.ok(expected.every((e) => (perId.get(e.eventId) ?? 0) >= 2), 'every event from N on is on the topic (at least) twice now');
  const report = await cluster.topicReport();
  t.comment(describeTopicReport(report));
  t.same(report.violations.slice(0, 5), [], 'first occurrences still in per-user order');
  const group = `${cluster.env['JIT_KAFKA_TOPIC_PREFIX']}jit-projections`;
  const consumed = await pollUntil(() => groupLag(cluster.kafka, group, cluster.topics.users), (lag) => lag === 0, 60_000, 500);
  t.ok(consumed.settled, `the projector consumed the republished messages (lag ${consumed.value})`);
  const model = await pollUntil(() => cluster.readModelReport(server.url()), (r) => r.mismatches.length === 0, 60_000);
  t.same(model.value.mismatches.slice(0, 5), [], 'the projector skips the republished duplicates: the read model still equals the fold');
  t.equal(await cluster.backends.parking.count(), 0, 'nothing parked');
});
