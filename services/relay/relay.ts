/**
 * The relay (outbox): publishes the event store's committed log to jit.users.v1 in position order,
 * keyed by user id, with an idempotent producer. The checkpoint moves only after Kafka acknowledged
 * a batch, so a crash at any point re-publishes (at-least-once) and never loses an event.
 */
import type { Kafka, Producer, ProducerConfig } from 'kafkajs';
import type { Logger } from 'pino';
import type { CheckpointStore } from '../shared/checkpoints/checkpointStore.js';
import type { EventStore, Subscription } from '../shared/eventStore/eventStore.js';
import { isUserEventType } from '../../events/catalogue.js';
import { toKafkaMessage } from '../shared/kafka/cloudEvents.js';
import type { Topics } from '../shared/kafka/kafkaClient.js';

export const RELAY_CHECKPOINT = 'relay:jit.users.v1';

/** Ordered, duplicate-free publishing needs exactly these producer settings. */
export const RELAY_PRODUCER_CONFIG = { idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false } as const satisfies ProducerConfig;

export function assertIdempotentProducer(config: ProducerConfig): void {
  const problems: string[] = [];
  if (config.idempotent !== true) problems.push('idempotent must be true');
  if (config.maxInFlightRequests !== 1) problems.push('maxInFlightRequests must be 1 (order across retries)');
  if (problems.length > 0) throw new Error(`relay producer misconfigured: ${problems.join('; ')}`);
}

export type Relay = {
  /** Last position acknowledged by Kafka. */
  published(): number;
  stop(): Promise<void>;
};

export type RelayLeadership = (signal: AbortSignal) => Promise<{ lost: Promise<void>; release(): Promise<void> } | undefined>;

export async function startRelay(deps: {
  kafka: Kafka;
  topics: Topics;
  store: EventStore;
  checkpoints: CheckpointStore;
  logger: Logger;
  /** Becomes leader (PostgreSQL advisory lock); absent in the single-process embedded mode. */
  leadership?: RelayLeadership;
  batchSize?: number;
  producerConfig?: ProducerConfig;
}): Promise<Relay> {
  const config = deps.producerConfig ?? RELAY_PRODUCER_CONFIG;
  assertIdempotentProducer(config);
  const logger = deps.logger.child({ component: 'relay' });
  const producer: Producer = deps.kafka.producer(config);
  await producer.connect();
  let published = await deps.checkpoints.get(RELAY_CHECKPOINT);
  let subscription: Subscription | undefined;
  let stopped = false;
  const abort = new AbortController();

  const publishFrom = async (after: number) =>
    deps.store.subscribeToAll({
      after,
      batchSize: deps.batchSize ?? 500,
      handler: async (batch) => {
        // IdP configuration events stay internal: jit.users.v1 carries user events only.
        const messages = batch.filter((event) => isUserEventType(event.type)).map(toKafkaMessage);
        if (messages.length > 0) await producer.send({ topic: deps.topics.users, acks: -1, messages });
        const last = batch.at(-1)!.position;
        await deps.checkpoints.set(RELAY_CHECKPOINT, last);
        published = last;
      },
      onError: (error) => logger.warn({ err: error }, 'publishing failed; retrying the batch'),
    });

  let lease: Awaited<ReturnType<RelayLeadership>>;
  const lead = async (): Promise<void> => {
    while (!stopped) {
      lease = deps.leadership ? await deps.leadership(abort.signal) : undefined;
      if (stopped || (deps.leadership && !lease)) return;
      published = await deps.checkpoints.get(RELAY_CHECKPOINT);
      logger.info({ from: published }, 'relay publishing');
      subscription = await publishFrom(published);
      if (!lease) return;
      await lease.lost;
      await subscription.stop();
      subscription = undefined;
      if (!stopped) logger.warn('relay lost leadership; waiting to take it again');
    }
  };
  const running = lead();

  return {
    published: () => published,
    async stop() {
      stopped = true;
      abort.abort();
      await subscription?.stop();
      await lease?.release();
      await running;
      await producer.disconnect();
    },
  };
}
