/**
 * Users with thousands of groups (Active Directory accounts often have them) make events of
 * hundreds of kilobytes. A relay that catches up on a backlog of them — after a restart, say —
 * must still publish: Kafka refuses a partition's batch over its size limit, so one oversized
 * send would block the relay forever.
 */
import t from 'tap';
import { samlIdp, samlLogin } from '../support/fixtures.js';
import { assertKafkaReachable } from '../support/kafka.js';
import { startCluster } from '../support/cluster.js';
import { describeReadModelReport, describeTopicReport, pollUntil } from '../support/convergence.js';
import { postLogin } from '../support/loginStream.js';

await assertKafkaReachable();
const cluster = await startCluster(t, 'large_events');
const api = await cluster.processes.start({ name: 'api-provisioning-projections', services: ['api', 'provisioning', 'projections'], env: cluster.env });
await cluster.createIdp(samlIdp(), api.url());

const groups = (user: number, count: number, length: number) =>
  Array.from({ length: count }, (_, g) => `grp-${user}-${g}-`.padEnd(length, 'x'));

t.test('a backlog of large events reaches the topic', async (t) => {
  // 30 users with 400 groups of 250 characters (~230 KB per UserProvisioned: several share a
  // partition, more than 1 MB together), and one at the size POST /logins allows (~480 KB of
  // group names: an event of more than a megabyte on its own).
  const logins = [
    ...Array.from({ length: 30 }, (_, i) => samlLogin(`big-${i}`, { groups: groups(i, 400, 250) })),
    samlLogin('biggest', { groups: groups(99, 1900, 250) }),
  ];
  for (let i = 0; i < logins.length; i += 3) await Promise.all(logins.slice(i, i + 3).map((login) => postLogin(api.url(), login)));
  const events = (await cluster.backends.store.readAll()).filter((e) => e.type === 'UserProvisioned');
  const sizes = events.map((e) => JSON.stringify(e.data).length);
  t.comment(`${events.length} UserProvisioned of ${Math.min(...sizes)}..${Math.max(...sizes)} bytes, ${sizes.reduce((a, b) => a + b, 0)} in all`);

  // The relay starts only now: its first batch is the whole backlog.
  const relay = await cluster.processes.start({ name: 'relay', services: ['relay'], env: cluster.env });
  const head = await cluster.backends.store.headPosition();
  const published = await pollUntil(() => cluster.relayCheckpoint(), (p) => p >= head, 90_000, 500);
  t.ok(published.settled, `the relay published the backlog up to ${head} (checkpoint ${published.value}) within ${published.ms} ms`);
  if (!published.settled) t.comment(relay.tail(5));
  const report = await cluster.topicReport();
  t.comment(describeTopicReport(report));
  t.same(report.missing.slice(0, 5), [], 'every event is on the topic');
  t.same(report.violations.slice(0, 5), [], 'in per-user order');
  const model = await pollUntil(() => cluster.readModelReport(), (r) => r.mismatches.length === 0, 90_000);
  t.comment(describeReadModelReport(model.value));
  t.same(model.value.mismatches.slice(0, 3).map((m) => m.slice(0, 200)), [], 'and projected: the read model equals the fold');
  t.equal(await cluster.backends.parking.count(), 0, 'nothing parked');
});
