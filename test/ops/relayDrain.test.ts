/**
 * A stopping relay flushes: what is committed when stop() is called is published (and acked)
 * before stop() resolves, so a graceful shutdown never leaves the topic behind the store.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import t from 'tap';
import type { NewEvent } from '../../events/envelope.js';
import { openBackends } from '../../services/backends.js';
import { RELAY_CHECKPOINT, startRelay } from '../../services/relay/relay.js';
import { loadConfig } from '../../services/shared/config.js';
import { createKafka, ensureTopics, topicNames } from '../../services/shared/kafka/kafkaClient.js';
import { checkTopicAgainstStore, describeTopicReport, readTopicRecords } from '../support/convergence.js';
import { assertKafkaReachable, KAFKA_BROKERS, testKafka, uniquePrefix } from '../support/kafka.js';

t.test('relay.stop() publishes everything committed before it was called', async (t) => {
  await assertKafkaReachable();
  const dataDir = mkdtempSync(join(tmpdir(), 'jit-relay-drain-'));
  const backends = await openBackends(loadConfig({ JIT_DATA_DIR: dataDir, JIT_LOG_LEVEL: 'silent' }));
  t.teardown(async () => {
    await backends.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const logger = pino({ level: 'silent' });
  const kafka = createKafka(KAFKA_BROKERS.split(','), logger);
  const topics = topicNames(uniquePrefix('drain'));
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, topics);
  await admin.disconnect();

  const relay = await startRelay({ kafka, topics, store: backends.store, checkpoints: backends.checkpoints, logger, batchSize: 10 });
  let stopped = false;
  t.teardown(() => (stopped ? undefined : relay.stop({ drainMs: 0 })));
  // Many small appends, then stop at once: without the flush most of them would stay unpublished.
  const users = Array.from({ length: 40 }, () => randomUUID());
  for (let round = 0; round < 5; round++) {
    await Promise.all(
      users.map((userId) => {
        const loginId = randomUUID();
        const event: NewEvent = {
          type: 'UserLoggedIn',
          eventId: randomUUID(),
          data: { 'user-id': userId, 'idp-id': 'okta', subject: `s-${userId}`, protocol: 'saml', 'login-id': loginId, 'authenticated-at': new Date().toISOString() },
          metadata: { loginId, correlationId: `drain-${round}`, actor: 'test', schemaVersion: 1 },
        };
        return backends.store.appendToStream(`user-${userId}`, [event], { expectedRevision: 'any' });
      }),
    );
  }
  const head = await backends.store.headPosition();
  t.equal(head, 200);
  await relay.stop();
  stopped = true;
  t.equal(relay.published(), head, 'the relay published up to the head before stop() resolved');
  t.equal(await backends.checkpoints.get(RELAY_CHECKPOINT), head, 'and checkpointed it');
  const report = checkTopicAgainstStore(await readTopicRecords(testKafka(), topics.users), await backends.store.readAll());
  t.same(report.missing, [], `every event is on the topic: ${describeTopicReport(report)}`);
  t.same(report.violations, [], 'in per-user order');
});
