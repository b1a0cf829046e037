/**
 * What the fault and scale tests check once the dust settles: jit.users.v1 against the event store
 * (every user event at least once, per-user order, duplicates counted), and the read model against
 * the fold of the store (the aggregate's own evolve).
 */
import { randomBytes } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { USER_STREAM_PREFIX, isUserEventType } from '../../events/catalogue.js';
import type { RawRecordedEvent } from '../../events/envelope.js';
import type { ReadModel } from '../../services/projections/readModel.js';
import type { EventStore } from '../../services/shared/eventStore/eventStore.js';
import { foldUser, groupNames, type EvolvableUserEvent, type ProvisionedUser } from '../../services/provisioning/user/userState.js';
import { ADMIN_TOKEN } from './fixtures.js';

export type TopicRecord = Readonly<{ partition: number; offset: number; key: string; ceId: string; revision: number; position: number }>;

/** Sum of the topic's high watermarks: how many messages it holds. */
export async function topicSize(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

/** Messages of the topic a consumer group has not committed yet (0 once it consumed everything). */
export async function groupLag(kafka: Kafka, groupId: string, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(topic);
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const at = new Map((committed?.partitions ?? []).map((p) => [p.partition, Math.max(0, Number(p.offset))]));
    return ends.reduce((lag, p) => lag + Math.max(0, Number(p.high) - (at.get(p.partition) ?? 0)), 0);
  } finally {
    await admin.disconnect();
  }
}

/** Every message of a topic up to its current end, in partition order, with a throwaway group. */
export async function readTopicRecords(kafka: Kafka, topic: string, timeoutMs = 60_000): Promise<TopicRecord[]> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]));
  await admin.disconnect();
  const byPartition = new Map<number, TopicRecord[]>();
  const header = (value: unknown) => (value === undefined ? '' : String(Array.isArray(value) ? value[0] : value));
  const complete = () => [...ends].every(([partition, high]) => (byPartition.get(partition)?.at(-1)?.offset ?? -1) + 1 >= high);
  const consumer = kafka.consumer({ groupId: `jit-test-reader-${randomBytes(4).toString('hex')}`, maxWaitTimeInMs: 200 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`reading ${topic} timed out after ${timeoutMs} ms`)), timeoutMs);
      const check = () => {
        if (!complete()) return;
        clearTimeout(timer);
        resolve();
      };
      check();
      consumer
        .run({
          eachMessage: async ({ partition, message }) => {
            const list = byPartition.get(partition) ?? [];
            byPartition.set(partition, list);
            if (Number(message.offset) < (ends.get(partition) ?? 0)) {
              list.push({
                partition,
                offset: Number(message.offset),
                key: message.key?.toString('utf8') ?? '',
                ceId: header(message.headers?.['ce_id']),
                revision: Number(header(message.headers?.['jit_revision'])),
                position: Number(header(message.headers?.['jit_position'])),
              });
            }
            check();
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return [...byPartition.keys()].sort((a, b) => a - b).flatMap((p) => byPartition.get(p)!);
}

export type TopicReport = {
  storeUserEvents: number;
  messages: number;
  distinct: number;
  duplicates: number;
  /** Store events that are not on the topic: lost. */
  missing: string[];
  /** Messages whose ce_id is no user event of the store. */
  foreign: string[];
  /** Keys whose first occurrences are not in revision order, or whose headers disagree with the store. */
  violations: string[];
  keys: number;
};

/**
 * Every user event of the store on the topic at least once; per key, the first occurrence of each
 * revision comes in increasing order and the key's revisions have no hole.
 */
export function checkTopicAgainstStore(records: readonly TopicRecord[], storeEvents: readonly RawRecordedEvent[]): TopicReport {
  const userEvents = storeEvents.filter((e) => isUserEventType(e.type));
  const byId = new Map(userEvents.map((e) => [e.eventId, e]));
  const counts = new Map<string, number>();
  const violations: string[] = [];
  const foreign: string[] = [];
  const firstRevisions = new Map<string, number[]>();
  const partitionOf = new Map<string, number>();
  for (const record of records) {
    const seen = counts.get(record.ceId) ?? 0;
    counts.set(record.ceId, seen + 1);
    const event = byId.get(record.ceId);
    if (!event) {
      foreign.push(record.ceId);
      continue;
    }
    if (event.position !== record.position || event.revision !== record.revision) {
      violations.push(`${record.ceId}: headers say position ${record.position} revision ${record.revision}, the store ${event.position}/${event.revision}`);
    }
    const partition = partitionOf.get(record.key);
    if (partition !== undefined && partition !== record.partition) violations.push(`key ${record.key} is on partitions ${partition} and ${record.partition}`);
    partitionOf.set(record.key, record.partition);
    if (seen === 0) firstRevisions.set(record.key, [...(firstRevisions.get(record.key) ?? []), record.revision]);
  }
  for (const [key, revisions] of firstRevisions) {
    const inOrder = revisions.every((r, i) => r === i);
    if (!inOrder) violations.push(`key ${key}: first occurrences by revision ${revisions.join(',')}`);
  }
  const missing = userEvents.filter((e) => !counts.has(e.eventId)).map((e) => `${e.eventId} (${e.type} #${e.position})`);
  const distinct = [...counts.keys()].filter((id) => byId.has(id)).length;
  const duplicates = records.length - foreign.length - distinct;
  return { storeUserEvents: userEvents.length, messages: records.length, distinct, duplicates, missing, foreign, violations, keys: firstRevisions.size };
}

export function describeTopicReport(report: TopicReport): string {
  return (
    `store user events ${report.storeUserEvents}, topic messages ${report.messages} (${report.distinct} distinct, ${report.duplicates} duplicates, ` +
    `${report.foreign.length} foreign), keys ${report.keys}, missing ${report.missing.length}, order violations ${report.violations.length}`
  );
}

/** The users of the store: each user stream folded with the aggregate's evolve. */
export async function foldStore(store: EventStore): Promise<{ events: RawRecordedEvent[]; users: Map<string, ProvisionedUser>; streams: number }> {
  const events = await store.readAll();
  const streams = new Map<string, EvolvableUserEvent[]>();
  for (const event of events) {
    if (!event.streamId.startsWith(USER_STREAM_PREFIX) || !isUserEventType(event.type)) continue;
    const list = streams.get(event.streamId) ?? [];
    list.push(event as unknown as EvolvableUserEvent);
    streams.set(event.streamId, list);
  }
  const users = new Map<string, ProvisionedUser>();
  for (const [streamId, list] of streams) {
    const state = foldUser(list);
    if (state.status === 'provisioned') users.set(streamId.slice(USER_STREAM_PREFIX.length), state);
  }
  return { events, users, streams: streams.size };
}

/** JSON with sorted keys and without undefined members: equal states give equal text. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v,
  );
}

export type JitUserRow = { username: string; 'display-name': string; email: string; 'user-id': string; active: boolean; groups?: string[] };

export type ReadModelReport = {
  events: number;
  streams: number;
  /** Provisioned users according to the fold of the store. */
  foldedUsers: number;
  /** Users the read model lists. */
  listedUsers: number;
  mismatches: string[];
};

/**
 * The read model equals the fold of the store: the full state of every user (groups with their
 * provenance, identities, dates) by findUser, the list rows, and — when given — the rows of
 * GET /jit-users?expand=groups.
 */
export async function checkReadModelAgainstStore(store: EventStore, readModel: ReadModel, httpRows?: readonly JitUserRow[]): Promise<ReadModelReport> {
  const { events, users, streams } = await foldStore(store);
  const mismatches: string[] = [];
  for (const [userId, folded] of users) {
    const stored = await readModel.findUser(userId);
    if (!stored) mismatches.push(`${folded.username} (${userId}) is missing from the read model`);
    else if (canonical(stored) !== canonical(folded)) mismatches.push(`${folded.username}: read model ${canonical(stored)} ≠ fold ${canonical(folded)}`);
  }
  const { users: listed, total } = await readModel.listUsers({ start: 0, limit: 100_000, withGroups: true });
  if (total !== users.size) mismatches.push(`the read model counts ${total} users, the store ${users.size}`);
  for (const row of listed) {
    const folded = users.get(row.userId);
    if (!folded) {
      mismatches.push(`the read model lists ${row.username} (${row.userId}), which the store never provisioned`);
      continue;
    }
    const want = canonical({ u: folded.username, d: folded.displayName, e: folded.email, a: folded.active, g: groupNames(folded).map((g) => g.toLowerCase()).sort() });
    const got = canonical({ u: row.username, d: row.displayName, e: row.email, a: row.active, g: (row.groups ?? []).map((g) => g.toLowerCase()).sort() });
    if (want !== got) mismatches.push(`list row of ${row.username}: ${got} ≠ fold ${want}`);
  }
  if (httpRows) {
    if (httpRows.length !== users.size) mismatches.push(`GET /jit-users lists ${httpRows.length} users, the store has ${users.size}`);
    for (const row of httpRows) {
      const folded = users.get(row['user-id']);
      const want = folded && canonical([folded.username, folded.displayName, folded.email, folded.active, groupNames(folded).map((g) => g.toLowerCase()).sort()]);
      const got = canonical([row.username, row['display-name'], row.email, row.active, (row.groups ?? []).map((g) => g.toLowerCase()).sort()]);
      if (want !== got) mismatches.push(`GET /jit-users row ${got} ≠ fold ${want ?? '(no such user)'}`);
    }
  }
  return { events: events.length, streams, foldedUsers: users.size, listedUsers: total, mismatches };
}

export function describeReadModelReport(report: ReadModelReport): string {
  return `store events ${report.events}, user streams ${report.streams}, users by fold ${report.foldedUsers}, users in the read model ${report.listedUsers}, mismatches ${report.mismatches.length}`;
}

/** GET /rest/authconfig/1.0/jit-users?expand=groups, every page. */
export async function listJitUsers(baseUrl: string): Promise<JitUserRow[]> {
  const response = await fetch(`${baseUrl}/rest/authconfig/1.0/jit-users?limit=10000&expand=groups`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    signal: AbortSignal.timeout(30_000),
  });
  if (response.status !== 200) throw new Error(`GET /jit-users answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as JitUserRow[];
}

/** Polls until `check` answers a value `done` accepts; answers the last value (the caller asserts on it). */
export async function pollUntil<T>(check: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number, intervalMs = 1000): Promise<{ value: T; ms: number; settled: boolean }> {
  const started = Date.now();
  for (;;) {
    const value = await check();
    if (done(value)) return { value, ms: Date.now() - started, settled: true };
    if (Date.now() - started > timeoutMs) return { value, ms: Date.now() - started, settled: false };
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
