/**
 * The relay (outbox): publishes the event store's committed log to jit.users.v1 in position order,
 * keyed by user id, with an idempotent producer. The checkpoint moves only after Kafka acknowledged
 * a batch, so a crash at any point re-publishes (at-least-once) and never loses an event.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka, Message, Producer, ProducerConfig } from 'kafkajs';
import type { Logger } from 'pino';
import type { CheckpointStore } from '../shared/checkpoints/checkpointStore.js';
import type { EventStore, Subscription } from '../shared/eventStore/eventStore.js';
import { isUserEventType } from '../../events/catalogue.js';
import type { RawRecordedEvent } from '../../events/envelope.js';
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

/**
 * Bytes per send. Kafka refuses a partition's batch larger than the topic's max.message.bytes
 * (1 MB by default), and events of users with thousands of groups weigh hundreds of kilobytes:
 * one send of a whole backlog would be refused on every retry, and the relay would stall.
 */
export const MAX_SEND_BYTES = 512 * 1024;

const byteLength = (value: string | Buffer | null | undefined) => (value ? Buffer.byteLength(value) : 0);

function messageBytes(message: Message): number {
  let bytes = byteLength(message.key) + byteLength(message.value);
  for (const [name, value] of Object.entries(message.headers ?? {})) bytes += name.length + byteLength(value === undefined ? undefined : String(value));
  return bytes;
}

/** Consecutive slices of at most maxBytes (a larger message goes alone); sent one after another they keep the order. */
export function inSlices<M extends Message>(messages: readonly M[], maxBytes = MAX_SEND_BYTES): M[][] {
  const slices: M[][] = [];
  let current: M[] = [];
  let bytes = 0;
  for (const message of messages) {
    const size = messageBytes(message);
    if (current.length > 0 && bytes + size > maxBytes) {
      slices.push(current);
      current = [];
      bytes = 0;
    }
    current.push(message);
    bytes += size;
  }
  if (current.length > 0) slices.push(current);
  return slices;
}

/** Sends in order, slice by slice, each acknowledged by every in-sync replica before the next. */
export async function sendInOrder(producer: Producer, topic: string, messages: readonly Message[]): Promise<void> {
  for (const slice of inSlices(messages)) await producer.send({ topic, acks: -1, messages: slice });
}

export type Relay = {
  /** Last position acknowledged by Kafka. */
  published(): number;
  /** While leading, publishes what is committed (up to the head when called) first, for at most drainMs. */
  stop(options?: { drainMs?: number }): Promise<void>;
};

/** How long a stopping relay keeps publishing what is already committed (graceful shutdown). */
export const RELAY_DRAIN_MS = 10_000;

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
  /** Told of each batch once Kafka acknowledged it (the publish-delay metric). */
  onPublished?: (events: readonly RawRecordedEvent[]) => void;
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
        await sendInOrder(producer, deps.topics.users, messages);
        deps.onPublished?.(batch);
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
    async stop({ drainMs = RELAY_DRAIN_MS } = {}) {
      // Flush: a graceful stop leaves nothing committed unpublished (the next leader would publish
      // it, but a single relay may not come back soon). Only the leader has a subscription.
      const head = subscription ? await deps.store.headPosition().catch(() => 0) : 0;
      const deadline = Date.now() + drainMs;
      while (subscription && published < head && Date.now() < deadline) await sleep(20);
      if (published < head) logger.warn({ published, head }, 'relay stopped before publishing everything committed');
      stopped = true;
      abort.abort();
      await subscription?.stop();
      await lease?.release();
      await running;
      await producer.disconnect();
    },
  };
}
