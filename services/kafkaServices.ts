/**
 * The Kafka side of a process (JIT_KAFKA_BROKERS set): topics, the relay, the Kafka projector and
 * the login consumer, each started only when this process runs that service.
 */
import type { RawRecordedEvent } from '../events/envelope.js';
import type { Admin, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { Backends } from './backends.js';
import type { IdpRegistry } from './provisioning/idps/idpRegistry.js';
import { startLoginConsumer, type LoginConsumer } from './provisioning/ingest/loginConsumer.js';
import type { LoginHandlerDeps } from './provisioning/login/provisionOnLogin.js';
import { startKafkaProjector, type KafkaProjector } from './projections/kafkaProjector.js';
import { startRelay, type Relay } from './relay/relay.js';
import type { Config } from './shared/config.js';
import { createKafka, ensureTopics, topicNames, type Topics } from './shared/kafka/kafkaClient.js';
import { acquireLeadership } from './shared/postgres/leadership.js';

/** The consumer group of the Kafka projector (its committed offsets measure the projection lag). */
export const projectionsGroupId = (topicPrefix: string) => `${topicPrefix}jit-projections`;

/** The advisory lock the relay leader holds: one publisher per database. */
export const RELAY_LOCK = 0x6a697472; // "jitr"

export type KafkaServices = Readonly<{
  kafka: Kafka;
  admin: Admin;
  topics: Topics;
  relay: Relay | undefined;
  projector: KafkaProjector | undefined;
  logins: LoginConsumer | undefined;
  projectionsGroup: string;
  /** Answers whether the cluster answers a metadata request within the timeout. */
  reachable(timeoutMs?: number): Promise<boolean>;
  close(): Promise<void>;
}>;

export async function startKafkaServices(
  config: Config,
  backends: Backends,
  deps: {
    logger: Logger;
    registry: IdpRegistry;
    now: () => Date;
    newId: () => string;
    recordLogin?: LoginHandlerDeps['recordLogin'];
    observeLogin?: LoginHandlerDeps['observeLogin'];
    /** Pipeline-delay metrics: batches Kafka acknowledged to the relay, batches the projector committed. */
    onPublished?: (events: readonly RawRecordedEvent[]) => void;
    onProjected?: (events: readonly RawRecordedEvent[]) => void;
  },
): Promise<KafkaServices> {
  const brokers = config.kafkaBrokers ?? [];
  const kafka = createKafka(brokers, deps.logger);
  const topics = topicNames(config.kafkaTopicPrefix);
  const admin = kafka.admin();
  const closers: (() => Promise<void>)[] = [() => admin.disconnect()];
  const close = async () => {
    for (const closer of closers.reverse()) await closer().catch((error: unknown) => deps.logger.warn({ err: error }, 'closing a Kafka client failed'));
  };
  try {
    await admin.connect();
    await ensureTopics(admin, topics);
    const { pool } = backends.postgres ?? {};
    const relay = config.services.has('relay')
      ? await startRelay({
          kafka,
          topics,
          store: backends.store,
          checkpoints: backends.checkpoints,
          logger: deps.logger,
          ...(deps.onPublished ? { onPublished: deps.onPublished } : {}),
          ...(pool ? { leadership: (signal: AbortSignal) => acquireLeadership(pool, RELAY_LOCK, { signal }) } : {}),
        })
      : undefined;
    if (relay) closers.push(() => relay.stop());
    const projector = config.services.has('projections')
      ? await startKafkaProjector({
          kafka,
          topics,
          readModel: backends.readModel,
          parking: backends.parking,
          logger: deps.logger,
          groupId: projectionsGroupId(config.kafkaTopicPrefix),
          ...(deps.onProjected ? { onApplied: deps.onProjected } : {}),
        })
      : undefined;
    if (projector) closers.push(() => projector.stop());
    const logins = config.services.has('provisioning')
      ? await startLoginConsumer({
          kafka,
          topics,
          handler: {
            store: backends.store,
            idps: deps.registry,
            now: deps.now,
            newId: deps.newId,
            ...(deps.recordLogin ? { recordLogin: deps.recordLogin } : {}),
            ...(deps.observeLogin ? { observeLogin: deps.observeLogin } : {}),
          },
          parking: backends.parking,
          logger: deps.logger,
          groupId: `${config.kafkaTopicPrefix}jit-provisioning`,
        })
      : undefined;
    if (logins) closers.push(() => logins.stop());
    return {
      kafka,
      admin,
      topics,
      relay,
      projector,
      logins,
      projectionsGroup: projectionsGroupId(config.kafkaTopicPrefix),
      async reachable(timeoutMs = 3000) {
        const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref());
        return Promise.race([admin.describeCluster().then(() => true, () => false), timeout]);
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
