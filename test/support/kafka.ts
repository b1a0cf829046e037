/**
 * The real Kafka broker for integration tests (`make test` starts it with deploy/kafka/kafka.sh).
 * Each test uses its own topic prefix. A missing broker fails the test loudly; it never skips.
 */
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel, type KafkaMessage } from 'kafkajs';

export const KAFKA_BROKERS = process.env['JIT_TEST_KAFKA_BROKERS'] ?? `127.0.0.1:${process.env['JIT_KAFKA_PORT'] ?? '9092'}`;

export function uniquePrefix(label: string): string {
  return `test.${label}.${randomBytes(4).toString('hex')}.`;
}

export function testKafka(): Kafka {
  process.env['KAFKAJS_NO_PARTITIONER_WARNING'] = '1';
  return new Kafka({ clientId: 'jit-test', brokers: KAFKA_BROKERS.split(','), logLevel: logLevel.NOTHING, retry: { retries: 3 } });
}

export async function assertKafkaReachable(): Promise<void> {
  const admin = testKafka().admin();
  try {
    await admin.connect();
    await admin.describeCluster();
  } catch (error) {
    throw new Error(`Kafka is not reachable at ${KAFKA_BROKERS} (make test starts it with deploy/kafka/kafka.sh up)`, { cause: error });
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** Reads a whole topic from the beginning (up to its current end) with a throwaway consumer group. */
export async function readTopic(topic: string, timeoutMs = 20_000): Promise<KafkaMessage[]> {
  const kafka = testKafka();
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const remaining = new Map(ends.map((p) => [p.partition, Number(p.high)]));
  const messages: KafkaMessage[] = [];
  const consumer = kafka.consumer({ groupId: `reader-${randomBytes(4).toString('hex')}`, maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const done = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`reading ${topic} timed out`)), timeoutMs);
    const check = () => {
      if ([...remaining.values()].every((n) => n <= 0)) {
        clearTimeout(timer);
        resolve();
      }
    };
    check();
    void consumer.run({
      eachMessage: async ({ partition, message }) => {
        messages.push(message);
        if (Number(message.offset) + 1 >= (ends.find((p) => p.partition === partition) ? Number(ends.find((p) => p.partition === partition)!.high) : 0)) remaining.set(partition, 0);
        check();
      },
    });
  });
  try {
    await done;
  } finally {
    await consumer.disconnect();
  }
  return messages;
}

export async function waitUntil(condition: () => Promise<boolean> | boolean, timeoutMs = 30_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
