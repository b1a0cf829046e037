/**
 * The relay's ordering guarantee rests on its producer settings: idempotent, one request in flight.
 * A configuration without them is refused before anything connects. And what it sends goes out in
 * slices Kafka accepts, in order.
 */
import type { Kafka, ProducerConfig } from 'kafkajs';
import pino from 'pino';
import t from 'tap';
import { MAX_SEND_BYTES, RELAY_PRODUCER_CONFIG, assertIdempotentProducer, inSlices, startRelay } from '../../services/relay/relay.js';
import type { CheckpointStore } from '../../services/shared/checkpoints/checkpointStore.js';
import type { EventStore } from '../../services/shared/eventStore/eventStore.js';
import { topicNames } from '../../services/shared/kafka/kafkaClient.js';

t.test('RELAY_PRODUCER_CONFIG is idempotent with one request in flight', async (t) => {
  t.equal(RELAY_PRODUCER_CONFIG.idempotent, true);
  t.equal(RELAY_PRODUCER_CONFIG.maxInFlightRequests, 1);
  t.equal(RELAY_PRODUCER_CONFIG.allowAutoTopicCreation, false, 'a typo in a topic name fails instead of creating a topic');
  t.doesNotThrow(() => assertIdempotentProducer(RELAY_PRODUCER_CONFIG));
});

t.test('assertIdempotentProducer refuses what could reorder or duplicate', async (t) => {
  const refused: [string, ProducerConfig, RegExp][] = [
    ['idempotent false', { ...RELAY_PRODUCER_CONFIG, idempotent: false }, /idempotent must be true/],
    ['idempotent missing', { maxInFlightRequests: 1 }, /idempotent must be true/],
    ['five requests in flight', { ...RELAY_PRODUCER_CONFIG, maxInFlightRequests: 5 }, /maxInFlightRequests must be 1/],
    ['in-flight limit missing', { idempotent: true }, /maxInFlightRequests must be 1/],
    ['both wrong', { idempotent: false, maxInFlightRequests: 2 }, /idempotent must be true; maxInFlightRequests must be 1/],
  ];
  for (const [name, config, message] of refused) t.throws(() => assertIdempotentProducer(config), message, name);
});

t.test('startRelay refuses a non-idempotent producer before creating it', async (t) => {
  let producers = 0;
  const kafka = {
    producer: () => {
      producers += 1;
      throw new Error('no producer should be created');
    },
  } as unknown as Kafka;
  const unused = new Proxy({}, { get: () => () => t.fail('nothing should be touched') });
  const deps = {
    kafka,
    topics: topicNames('test.'),
    store: unused as EventStore,
    checkpoints: unused as CheckpointStore,
    logger: pino({ level: 'silent' }),
  };
  await t.rejects(startRelay({ ...deps, producerConfig: { idempotent: false, maxInFlightRequests: 1 } }), /relay producer misconfigured: idempotent must be true/);
  await t.rejects(startRelay({ ...deps, producerConfig: { idempotent: true, maxInFlightRequests: 5 } }), /relay producer misconfigured: maxInFlightRequests must be 1/);
  t.equal(producers, 0, 'no producer was created');
});

t.test('a backlog goes out in slices under the size Kafka accepts, in order', async (t) => {
  const message = (i: number, bytes: number) => ({ key: `user-${i % 7}`, value: 'x'.repeat(bytes), headers: { ce_id: String(i) } });
  const backlog = Array.from({ length: 40 }, (_, i) => message(i, i === 17 ? 3 * MAX_SEND_BYTES : 60_000));
  const slices = inSlices(backlog);
  t.same(slices.flat(), backlog, 'every message once, in the original order');
  t.ok(slices.length > 1, `${slices.length} slices`);
  for (const slice of slices) {
    const bytes = slice.reduce((sum, m) => sum + m.key.length + m.value.length + 'ce_id'.length + m.headers.ce_id.length, 0);
    t.ok(slice.length === 1 || bytes <= MAX_SEND_BYTES, `a slice of ${slice.length} messages, ${bytes} bytes`);
  }
  t.same(slices.find((slice) => slice.includes(backlog[17]!)), [backlog[17]], 'a message larger than a slice goes alone');
  t.same(inSlices([]), [], 'nothing to send, no slice');
  t.same(inSlices([message(1, 10)]), [[message(1, 10)]]);
});
