/**
 * Kafka connection, topic names and topic creation. jit.users.v1 is the audit log that consumers
 * replay from offset 0: unlimited retention, no compaction.
 */
import { hostname } from 'node:os';
import { Kafka, logLevel, type Admin, type ITopicConfig, type LogEntry } from 'kafkajs';
import type { Logger } from 'pino';

export type Topics = Readonly<{ users: string; logins: string }>;

export function topicNames(prefix: string): Topics {
  return { users: `${prefix}jit.users.v1`, logins: `${prefix}jit.logins.v1` };
}

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

export function createKafka(brokers: readonly string[], logger: Logger, clientId = `jit-${hostname()}-${process.pid}`): Kafka {
  process.env['KAFKAJS_NO_PARTITIONER_WARNING'] ??= '1';
  const child = logger.child({ component: 'kafka' });
  return new Kafka({
    clientId,
    brokers: [...brokers],
    connectionTimeout: 5000,
    requestTimeout: 30_000,
    retry: { initialRetryTime: 300, retries: 10, maxRetryTime: 10_000 },
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log }: LogEntry) => {
        const { message, ...extra } = log;
        child[LEVELS[level] ?? 'info'](extra, message);
      },
  });
}

export const USERS_TOPIC_CONFIG: ITopicConfig['configEntries'] = [
  { name: 'retention.ms', value: '-1' },
  { name: 'retention.bytes', value: '-1' },
  { name: 'cleanup.policy', value: 'delete' },
  // One event of a user with thousands of groups can pass the 1 MB default; the relay could
  // never publish it, and everything after it would wait.
  { name: 'max.message.bytes', value: String(8 * 1024 * 1024) },
];

/** Creates the topics when missing (idempotent; safe from several processes at once). */
export async function ensureTopics(admin: Admin, topics: Topics, partitions = 6): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const wanted: ITopicConfig[] = [];
  if (!existing.has(topics.users)) wanted.push({ topic: topics.users, numPartitions: partitions, replicationFactor: -1, configEntries: USERS_TOPIC_CONFIG });
  if (!existing.has(topics.logins)) wanted.push({ topic: topics.logins, numPartitions: partitions, replicationFactor: -1 });
  if (wanted.length === 0) return;
  try {
    await admin.createTopics({ topics: wanted, waitForLeaders: true });
  } catch (error) {
    // Another process created them first.
    if (!(error instanceof Error && /already exists/i.test(error.message))) throw error;
  }
}
