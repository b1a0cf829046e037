import t from 'tap';
import kafkajs, { type Consumer } from 'kafkajs';
import pino from 'pino';
import { assertKafkaReachable, testKafka, uniquePrefix } from '../../../test/support/kafka.js';
import { superviseConsumer } from './supervisedConsumer.js';

// kafkajs spreads its errors into module.exports: Node's ESM view of it has no named export for them.
const { KafkaJSNonRetriableError } = kafkajs;

await assertKafkaReachable();

t.test('a consumer that crashed with an error kafkajs does not retry is replaced, and resumes from the committed offsets', async (t) => {
  const kafka = testKafka();
  const topic = `${uniquePrefix('supervised')}events`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  t.teardown(() => producer.disconnect());
  await producer.send({ topic, messages: ['a', 'b', 'c'].map((value) => ({ value })) });

  const seen: string[] = [];
  const consumers: Consumer[] = [];
  const crashes: boolean[] = [];
  let thrown = false;
  const supervised = await superviseConsumer({
    logger: pino({ level: 'silent' }),
    restartDelayMs: () => 50,
    create: () => {
      const consumer = kafka.consumer({ groupId: `${topic}-group`, maxWaitTimeInMs: 100, retry: { retries: 1 } });
      consumer.on(consumer.events.CRASH, ({ payload }) => crashes.push(payload.restart));
      consumers.push(consumer);
      return consumer;
    },
    start: async (consumer) => {
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const running = consumer.run({
        eachMessage: async ({ message }) => {
          const value = message.value!.toString();
          // The second message fails once with an error kafkajs gives up on at once.
          if (value === 'b' && !thrown) {
            thrown = true;
            throw new KafkaJSNonRetriableError('boom');
          }
          seen.push(value);
        },
      });
      return { running };
    },
  });
  t.teardown(() => supervised.stop());
  const deadline = Date.now() + 60_000;
  while (seen.length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  t.same(crashes, [false], 'one crash, which kafkajs itself would not restart');
  t.equal(consumers.length, 2, 'a second consumer was started');
  t.same(seen, ['a', 'b', 'c'], 'every message handled once, in order, the failed one again by the new consumer');
  await supervised.stop();
  await producer.send({ topic, messages: [{ value: 'd' }] });
  await new Promise((resolve) => setTimeout(resolve, 1000));
  t.same(seen, ['a', 'b', 'c'], 'nothing consumed after stop()');
  t.equal(consumers.length, 2, 'and no consumer started after it');
});
