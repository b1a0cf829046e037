/**
 * A deployment for the fault and scale tests: one throwaway PostgreSQL database and one topic
 * prefix shared by several real `jit serve` processes, plus the test's own view of what they
 * produce (the event store, the read model, the topic) to check the end state against.
 */
import { Kafka, logLevel } from 'kafkajs';
import { openBackends, type Backends } from '../../services/backends.js';
import { RELAY_CHECKPOINT } from '../../services/relay/relay.js';
import { loadConfig } from '../../services/shared/config.js';
import { topicNames, type Topics } from '../../services/shared/kafka/kafkaClient.js';
import type { IdpInput } from '../../schemas/types.gen.js';
import {
  checkReadModelAgainstStore,
  checkTopicAgainstStore,
  listJitUsers,
  readTopicRecords,
  type ReadModelReport,
  type TopicReport,
} from './convergence.js';
import { ADMIN_TOKEN, GATEWAY_TOKEN } from './fixtures.js';
import { KAFKA_BROKERS, uniquePrefix } from './kafka.js';
import { createTestDatabase } from './postgres.js';
import { processGroup, type ProcessGroup } from './processes.js';

export type Cluster = Readonly<{
  /** The environment every process of the deployment shares. */
  env: Readonly<Record<string, string>>;
  brokers: string;
  topics: Topics;
  kafka: Kafka;
  /** The test's own connection to the shared database. */
  backends: Backends;
  processes: ProcessGroup;
  /** Creates an IdP through one process and waits until every given process knows it. */
  createIdp(idp: IdpInput & { id: string }, via: string, alsoAt?: readonly string[]): Promise<void>;
  relayCheckpoint(): Promise<number>;
  topicReport(): Promise<TopicReport>;
  readModelReport(apiUrl?: string): Promise<ReadModelReport>;
}>;

type TapLike = Parameters<typeof processGroup>[0];

export function testKafkaFor(brokers: string): Kafka {
  process.env['KAFKAJS_NO_PARTITIONER_WARNING'] = '1';
  return new Kafka({ clientId: 'jit-test', brokers: brokers.split(','), logLevel: logLevel.NOTHING, retry: { retries: 5 } });
}

export async function startCluster(t: TapLike, label: string, options: { brokers?: string } = {}): Promise<Cluster> {
  const processes = processGroup(t, label);
  const brokers = options.brokers ?? KAFKA_BROKERS;
  const database = await createTestDatabase(label);
  const prefix = uniquePrefix(label);
  const env = {
    JIT_DATABASE_URL: database.url,
    JIT_KAFKA_BROKERS: brokers,
    JIT_KAFKA_TOPIC_PREFIX: prefix,
    JIT_ADMIN_TOKENS: ADMIN_TOKEN,
    JIT_GATEWAY_TOKENS: GATEWAY_TOKEN,
  };
  const backends = await openBackends(loadConfig({ JIT_DATABASE_URL: database.url, JIT_LOG_LEVEL: 'silent' }));
  const kafka = testKafkaFor(brokers);
  const topics = topicNames(prefix);
  // A teardown that rejects would skip the ones registered before it: report, never throw.
  t.teardown(async () => {
    const report = (step: string) => (error: unknown) => t.comment(`teardown: ${step} failed: ${String(error)}`);
    await processes.close().catch(report('stopping the processes'));
    await backends.close().catch(report('closing the database pool'));
    await database.drop().catch(report('dropping the database'));
  });

  const idpKnown = async (baseUrl: string, id: string) => {
    const response = await fetch(`${baseUrl}/rest/authconfig/1.0/idps/${id}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    return response.status === 200;
  };

  return {
    env,
    brokers,
    topics,
    kafka,
    backends,
    processes,
    async createIdp(idp, via, alsoAt = []) {
      const response = await fetch(`${via}/rest/authconfig/1.0/idps`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify(idp),
      });
      if (response.status !== 201 && response.status !== 200) throw new Error(`creating IdP ${idp.id} answered ${response.status}: ${await response.text()}`);
      const deadline = Date.now() + 30_000;
      for (const url of alsoAt) {
        while (!(await idpKnown(url, idp.id))) {
          if (Date.now() > deadline) throw new Error(`${url} did not learn IdP ${idp.id} within 30 s`);
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
    },
    relayCheckpoint: () => backends.checkpoints.get(RELAY_CHECKPOINT),
    async topicReport() {
      const records = await readTopicRecords(kafka, topics.users);
      return checkTopicAgainstStore(records, await backends.store.readAll());
    },
    async readModelReport(apiUrl) {
      return checkReadModelAgainstStore(backends.store, backends.readModel, apiUrl ? await listJitUsers(apiUrl) : undefined);
    },
  };
}
