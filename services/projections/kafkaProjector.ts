/**
 * Projections from Kafka: a consumer group reads jit.users.v1 and applies each partition batch to
 * the read model together with the partition's offset, in one transaction. Redelivered events are
 * skipped (a user row records the last position applied to it); messages that are not valid events
 * are parked and the partition moves on.
 */
import type { EachBatchPayload, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { RawRecordedEvent } from '../../events/envelope.js';
import { eventDataProblems } from '../../events/validate.js';
import { fromKafkaMessage } from '../shared/kafka/cloudEvents.js';
import type { Topics } from '../shared/kafka/kafkaClient.js';
import { superviseGroupConsumer } from '../shared/kafka/supervisedConsumer.js';
import type { ParkingLot } from '../shared/parking/parkingLot.js';
import type { ReadModel } from './readModel.js';

export const PROJECTION_CONSUMER = 'projections';

export type KafkaProjector = {
  /** Offsets processed per partition (next offset to read). */
  processed(): ReadonlyMap<number, string>;
  stop(): Promise<void>;
};

function headersAsText(headers: EachBatchPayload['batch']['messages'][number]['headers']): Record<string, string> {
  return Object.fromEntries(Object.entries(headers ?? {}).map(([k, v]) => [k, Array.isArray(v) ? v.map(String).join(',') : String(v ?? '')]));
}

export async function startKafkaProjector(deps: {
  kafka: Kafka;
  topics: Topics;
  readModel: ReadModel;
  parking: ParkingLot;
  logger: Logger;
  groupId: string;
  /** Told of the events of each batch once the read model committed them (the projection-delay metric). */
  onApplied?: (events: readonly RawRecordedEvent[]) => void;
}): Promise<KafkaProjector> {
  const logger = deps.logger.child({ component: 'kafka-projector' });
  const processed = new Map<number, string>();
  let stopped = false;
  const supervised = await superviseGroupConsumer({
    kafka: deps.kafka,
    groupId: deps.groupId,
    topic: deps.topics.users,
    logger,
    stopping: () => stopped,
    run: (consumer) =>
      consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        // Every partition of jit.users.v1 (6 as ensureTopics creates it) at once: each batch is its own
        // read-model transaction on other users' rows, and a fetch's batches need not wait for each other.
        partitionsConsumedConcurrently: 6,
        eachBatch: async ({ batch, resolveOffset, commitOffsetsIfNecessary, heartbeat, isRunning, isStale }) => {
          if (!isRunning() || isStale() || batch.messages.length === 0) return;
          const events: RawRecordedEvent[] = [];
          for (const message of batch.messages) {
            const decoded = fromKafkaMessage(message);
            const problems = decoded.ok ? eventDataProblems(decoded.event.type, decoded.event.data) : [decoded.reason];
            if (decoded.ok && problems.length === 0) {
              events.push(decoded.event);
              continue;
            }
            logger.warn({ partition: batch.partition, offset: message.offset, problems }, 'parking an invalid message');
            await deps.parking.park({
              consumer: PROJECTION_CONSUMER,
              topic: batch.topic,
              partition: batch.partition,
              offset: message.offset,
              key: message.key?.toString('utf8') ?? null,
              value: message.value?.toString('utf8') ?? null,
              headers: headersAsText(message.headers),
              reason: problems.join('; '),
            });
          }
          const last = batch.messages.at(-1)!;
          const next = Number(last.offset) + 1;
          await deps.readModel.applyEvents(events, `kafka:${batch.topic}:${batch.partition}`, next);
          deps.onApplied?.(events);
          resolveOffset(last.offset);
          await commitOffsetsIfNecessary({ topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: String(next) }] }] });
          processed.set(batch.partition, String(next));
          await heartbeat();
        },
      }).catch((error: unknown) => logger.error({ err: error }, 'the projector stopped')),
  });
  return {
    processed: () => processed,
    async stop() {
      stopped = true;
      await supervised.stop();
    },
  };
}
