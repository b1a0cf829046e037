/**
 * jit republish: re-emits the store's log (user events) to jit.users.v1 from a position, for
 * disaster recovery or a consumer that needs a fresh topic. The relay's checkpoint is untouched;
 * consumers deduplicate by ce_id.
 */
import type { Kafka } from 'kafkajs';
import { isUserEventType } from '../../events/catalogue.js';
import type { EventStore } from '../shared/eventStore/eventStore.js';
import { toKafkaMessage } from '../shared/kafka/cloudEvents.js';
import type { Topics } from '../shared/kafka/kafkaClient.js';
import { RELAY_PRODUCER_CONFIG, sendInOrder } from './relay.js';

export async function republish(
  deps: { kafka: Kafka; topics: Topics; store: EventStore },
  options: { from: number; onProgress?: (done: number, head: number) => void },
): Promise<{ published: number; upTo: number }> {
  const producer = deps.kafka.producer(RELAY_PRODUCER_CONFIG);
  await producer.connect();
  try {
    const head = await deps.store.headPosition();
    let after = Math.max(0, options.from - 1);
    let published = 0;
    while (after < head) {
      const batch = await deps.store.readAll({ after, maxCount: 1000 });
      if (batch.length === 0) break;
      const messages = batch.filter((e) => e.position <= head && isUserEventType(e.type)).map(toKafkaMessage);
      await sendInOrder(producer, deps.topics.users, messages);
      published += messages.length;
      after = batch.at(-1)!.position;
      options.onProgress?.(Math.min(after, head), head);
    }
    return { published, upTo: head };
  } finally {
    await producer.disconnect();
  }
}
