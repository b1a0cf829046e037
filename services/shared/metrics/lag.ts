/**
 * How far behind the store the relay and the projections are, read when asked (a scrape, a
 * readiness probe). Kafka's answers are bounded by a short timeout: a slow broker makes the
 * probe fail, never the caller hang.
 */
import type { Admin } from 'kafkajs';
import type { CheckpointStore } from '../checkpoints/checkpointStore.js';
import type { EventStore } from '../eventStore/eventStore.js';

export const KAFKA_PROBE_TIMEOUT_MS = 2000;

export type LagProbes = Readonly<{
  /** Store head - the relay's checkpoint (Kafka mode only: there is no relay without Kafka). */
  relay?: () => Promise<number>;
  /** In-process: store head - projector position. Kafka: high watermarks - the projections group's committed offsets. */
  projection?: () => Promise<number>;
}>;

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Messages of `topic` the group has not committed yet, summed over partitions. */
export async function consumerGroupLag(admin: Admin, groupId: string, topic: string): Promise<number> {
  const [ends, committed] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
  const done = new Map(committed.flatMap((t) => t.partitions).map((p) => [p.partition, Number(p.offset)]));
  let lag = 0;
  for (const partition of ends) {
    const high = Number(partition.high);
    const low = Number(partition.low);
    // -1: nothing committed yet, so everything still retained is ahead of the group.
    const next = Math.max(done.get(partition.partition) ?? -1, low);
    lag += Math.max(0, high - next);
  }
  return lag;
}

export function lagProbes(parts: {
  store: EventStore;
  checkpoints: CheckpointStore;
  relayCheckpoint: string;
  projector?: { position(): number } | undefined;
  kafka?: { admin: Admin; projectionsGroup: string; usersTopic: string } | undefined;
}): LagProbes {
  const { store, checkpoints, projector, kafka } = parts;
  const head = () => store.headPosition();
  if (kafka) {
    return {
      relay: async () => Math.max(0, (await head()) - (await checkpoints.get(parts.relayCheckpoint))),
      projection: () => withTimeout(consumerGroupLag(kafka.admin, kafka.projectionsGroup, kafka.usersTopic), KAFKA_PROBE_TIMEOUT_MS, 'Kafka (projection offsets)'),
    };
  }
  return projector ? { projection: async () => Math.max(0, (await head()) - projector.position()) } : {};
}
