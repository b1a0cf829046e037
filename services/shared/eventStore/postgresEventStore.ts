/**
 * PostgreSQL adapter of the EventStore port. Appends from concurrent callers are grouped: while
 * one batch commits, the next collects, and each batch is one transaction and one round trip
 * (jit_append_batch). That is group commit: many logins share one WAL flush.
 */
import { EventEmitter } from 'node:events';
import type pg from 'pg';
import type { EventMetadata } from '../../../events/catalogue.js';
import type { NewEvent, RawRecordedEvent, RecordedEvent } from '../../../events/envelope.js';
import { upcastEvent } from '../../../events/upcasters.js';
import { assertDomainEvent } from '../../../events/validate.js';
import { migratePostgres, type PgPool } from '../postgres/database.js';
import {
  ClaimConflictError,
  DuplicateEventIdError,
  WrongExpectedRevisionError,
  assertAppendable,
  assertStreamPrefix,
  type AppendOptions,
  type AppendResult,
  type ClaimKey,
  type EventStore,
  type StreamWithClaims,
} from './eventStore.js';
import { startPollingSubscription, unfiltered } from './pollingSubscription.js';
import { EVENT_STORE_MIGRATIONS } from './postgresSchema.js';
import { listenForNotifications } from './postgresNotifications.js';

type Pending = {
  streamId: string;
  events: readonly NewEvent[];
  options: AppendOptions;
  recordedAt: string;
  resolve: (result: AppendResult) => void;
  reject: (error: unknown) => void;
};

type ItemResult =
  | { ok: true; revision: number; firstPosition: number; lastPosition: number }
  | { error: 'wrong-revision'; actual: number | null }
  | { error: 'duplicate-event'; eventId: string }
  | { error: 'claim-conflict'; scope: string; key: string; heldBy: string };

type EventRow = {
  position: number;
  event_id: string;
  stream_id: string;
  revision: number;
  type: string;
  data: unknown;
  metadata: EventMetadata;
  recorded_at: Date;
};

const MAX_BATCH = 256;

/**
 * Streams from a revision and claim owners for many callers in one statement; `i` numbers the
 * caller. Each lateral subquery is fenced (OFFSET 0) so that it stays a lookup in the
 * (stream_id, revision) and (scope, key) indexes per requested key: joined as sets, the planner
 * may hash the whole of jit_events or jit_claims instead, and both grow with every login.
 */
const READ_STREAMS_WITH_CLAIMS = `
  SELECT r.i, e.position, e.event_id, e.stream_id, e.revision, e.type, e.data, e.metadata, e.recorded_at,
         NULL::text AS claim_scope, NULL::text AS claim_key, NULL::text AS claim_owner
    FROM unnest($1::text[], $2::int[]) WITH ORDINALITY AS r(stream_id, from_revision, i)
    CROSS JOIN LATERAL (SELECT * FROM jit_events WHERE stream_id = r.stream_id AND revision >= r.from_revision OFFSET 0) e
  UNION ALL
  SELECT c.i, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, c.scope, c.key, o.owner
    FROM unnest($3::bigint[], $4::text[], $5::text[]) AS c(i, scope, key)
    CROSS JOIN LATERAL (SELECT owner FROM jit_claims WHERE scope = c.scope AND key = c.key OFFSET 0) o`;

/**
 * The login path's statements (the grouped read, the append, the snapshot upsert) are named, so
 * each pooled connection parses and plans them once: parsing and planning the grouped read cost
 * more than running it (0.4 of 1.1 ms). Their plans do not depend on the values: the lookups
 * are fenced per key, and the plan test checks the generic plan too.
 */
/** Callers per grouped read, and grouped reads running at once (each holds a pooled connection). */
const MAX_READ_BATCH = 256;
const MAX_READS_IN_FLIGHT = 2;

type PendingRead = {
  streamId: string;
  fromRevision: number;
  claims: readonly ClaimKey[];
  resolve: (result: StreamWithClaims) => void;
  reject: (error: unknown) => void;
};

type ReadRow = EventRow & { i: string; claim_scope: string | null; claim_key: string | null; claim_owner: string | null };

/** Runs one grouped read and hands each caller its events (in revision order) and claim owners. */
async function runReadBatch(pool: PgPool, batch: readonly PendingRead[]): Promise<void> {
  const claimCallers: number[] = [];
  const scopes: string[] = [];
  const keys: string[] = [];
  batch.forEach((p, i) => {
    for (const claim of p.claims) {
      claimCallers.push(i + 1);
      scopes.push(claim.scope);
      keys.push(claim.key);
    }
  });
  const { rows } = await pool.query<ReadRow>({
    name: 'jit-read-streams-with-claims',
    text: READ_STREAMS_WITH_CLAIMS,
    values: [batch.map((p) => p.streamId), batch.map((p) => p.fromRevision), claimCallers, scopes, keys],
  });
  const events = batch.map((): RecordedEvent[] => []);
  const owners = batch.map(() => new Map<string, string>());
  for (const row of rows) {
    const i = Number(row.i) - 1;
    if (row.claim_scope !== null) owners[i]!.set(`${row.claim_scope}\n${row.claim_key}`, row.claim_owner!);
    else events[i]!.push(toRecorded(row) as RecordedEvent);
  }
  batch.forEach((p, i) => {
    events[i]!.sort((a, b) => a.revision - b.revision);
    p.resolve({ events: events[i]!, owners: p.claims.map((c) => owners[i]!.get(`${c.scope}\n${c.key}`)) });
  });
}

function toRecorded(row: EventRow): RawRecordedEvent {
  return upcastEvent({
    eventId: row.event_id,
    type: row.type,
    data: row.data,
    metadata: row.metadata,
    streamId: row.stream_id,
    revision: row.revision,
    position: row.position,
    recordedAt: row.recorded_at.toISOString(),
  });
}

function itemPayload(p: Pending) {
  return {
    streamId: p.streamId,
    expectedRevision: p.options.expectedRevision,
    events: p.events.map((e) => ({ eventId: e.eventId, type: e.type, data: e.data, metadata: e.metadata })),
    claims: p.options.claims ?? [],
    releases: p.options.releases ?? [],
    recordedAt: p.recordedAt,
  };
}

function settle(p: Pending, result: ItemResult): void {
  if ('ok' in result) {
    const records: RecordedEvent[] = p.events.map((event, i) => ({
      ...event,
      streamId: p.streamId,
      revision: result.revision - p.events.length + 1 + i,
      position: result.firstPosition + i,
      recordedAt: p.recordedAt,
    }));
    p.resolve({ nextExpectedRevision: result.revision, lastPosition: result.lastPosition, records });
  } else if (result.error === 'wrong-revision') {
    p.reject(new WrongExpectedRevisionError(p.streamId, p.options.expectedRevision, result.actual ?? 'no-stream'));
  } else if (result.error === 'duplicate-event') {
    p.reject(new DuplicateEventIdError(result.eventId));
  } else {
    const claim = p.options.claims?.find((c) => c.scope === result.scope && c.key === result.key) ?? { scope: result.scope, key: result.key, owner: '' };
    p.reject(new ClaimConflictError(claim, result.heldBy));
  }
}

export async function getPostgresEventStore(pool: PgPool, options: { now?: () => Date; connectionString?: string } = {}): Promise<EventStore> {
  const now = options.now ?? (() => new Date());
  await migratePostgres(pool, EVENT_STORE_MIGRATIONS);
  const appended = new EventEmitter();
  appended.setMaxListeners(0);
  const notifications = listenForNotifications(pool, 'jit_events', () => appended.emit('append'));
  const queue: Pending[] = [];
  let flushing = false;

  const runBatch = async (batch: Pending[]): Promise<void> => {
    const { rows } = await pool.query<{ results: ItemResult[] }>({ name: 'jit-append-batch', text: 'SELECT jit_append_batch($1::jsonb) AS results', values: [JSON.stringify(batch.map(itemPayload))] });
    const results = rows[0]!.results;
    batch.forEach((p, i) => settle(p, results[i]!));
  };

  const flush = async (): Promise<void> => {
    flushing = true;
    while (queue.length > 0) {
      const batch = queue.splice(0, MAX_BATCH);
      try {
        await runBatch(batch);
      } catch (error) {
        // One bad item (or a lost connection) failed the whole batch: retry each on its own so
        // only the culprit fails.
        if (batch.length === 1) batch[0]!.reject(error);
        else for (const p of batch) await runBatch([p]).catch((e: unknown) => p.reject(e));
      }
      appended.emit('append');
    }
    flushing = false;
  };

  // Login reads are grouped like appends: the first callers go at once; callers that arrive
  // while MAX_READS_IN_FLIGHT grouped reads run share the next statement. Under load that is one
  // round trip for dozens of logins instead of one each.
  const reads: PendingRead[] = [];
  let readsInFlight = 0;
  const readNext = async (): Promise<void> => {
    readsInFlight += 1;
    try {
      while (reads.length > 0) {
        const batch = reads.splice(0, MAX_READ_BATCH);
        try {
          await runReadBatch(pool, batch);
        } catch (error) {
          // One caller's stream (say, an event no upcaster knows) must not fail the others.
          if (batch.length === 1) batch[0]!.reject(error);
          else for (const p of batch) await runReadBatch(pool, [p]).catch((e: unknown) => p.reject(e));
        }
      }
    } finally {
      readsInFlight -= 1;
    }
  };

  const readAll = async (after: number, maxCount: number): Promise<RawRecordedEvent[]> => {
    const { rows } = await pool.query<EventRow>(
      'SELECT position, event_id, stream_id, revision, type, data, metadata, recorded_at FROM jit_events WHERE position > $1 ORDER BY position LIMIT $2',
      [after, maxCount],
    );
    return rows.map(toRecorded);
  };

  /**
   * Events of one stream category after a position, with the head in the same snapshot: a short
   * answer covers the log up to that head. The literal prefix matches the partial index of
   * event-store-4-idp-positions for "idp-" (assertStreamPrefix keeps it a plain word).
   */
  const readCategory = async (prefix: string, after: number, maxCount: number): Promise<{ events: RawRecordedEvent[]; upTo: number }> => {
    const { rows } = await pool.query<EventRow & { head: number }>(
      `SELECT h.position AS head, e.* FROM jit_log_head h LEFT JOIN LATERAL (
         SELECT position, event_id, stream_id, revision, type, data, metadata, recorded_at FROM jit_events
          WHERE stream_id LIKE '${prefix}%' AND position > $1 ORDER BY position LIMIT $2) e ON TRUE`,
      [after, maxCount],
    );
    const events = rows.filter((row) => row.position !== null).map(toRecorded);
    const head = Number(rows[0]?.head ?? after);
    return { events, upTo: events.length >= maxCount ? events.at(-1)!.position : Math.max(head, after, events.at(-1)?.position ?? after) };
  };

  return {
    kind: 'postgres',
    appendToStream(streamId, events, opts) {
      try {
        assertAppendable(streamId, events);
        for (const event of events) assertDomainEvent(event);
      } catch (error) {
        return Promise.reject(error);
      }
      return new Promise<AppendResult>((resolve, reject) => {
        queue.push({ streamId, events, options: opts, recordedAt: now().toISOString(), resolve, reject });
        if (!flushing) void flush();
      });
    },
    async readStream(streamId, opts = {}) {
      const { rows } = await pool.query<EventRow>(
        'SELECT position, event_id, stream_id, revision, type, data, metadata, recorded_at FROM jit_events WHERE stream_id = $1 AND revision >= $2 ORDER BY revision LIMIT $3',
        [streamId, opts.fromRevision ?? 0, opts.maxCount ?? 2_147_483_647],
      );
      return rows.map((row) => toRecorded(row) as RecordedEvent);
    },
    async readAll(opts = {}) {
      return readAll(opts.after ?? 0, opts.maxCount ?? 2_147_483_647);
    },
    async headPosition() {
      const { rows } = await pool.query<{ position: number }>('SELECT position FROM jit_log_head');
      return rows[0]?.position ?? 0;
    },
    async findClaim(scope, key) {
      const { rows } = await pool.query<{ owner: string }>('SELECT owner FROM jit_claims WHERE scope = $1 AND key = $2', [scope, key]);
      return rows[0]?.owner;
    },
    readStreamWithClaims(streamId, opts) {
      return new Promise<StreamWithClaims>((resolve, reject) => {
        reads.push({ streamId, fromRevision: opts.fromRevision ?? 0, claims: opts.claims, resolve, reject });
        if (readsInFlight < MAX_READS_IN_FLIGHT) void readNext();
      });
    },
    subscribeToAll({ after, handler, batchSize, onError, streamPrefix }) {
      if (streamPrefix !== undefined) assertStreamPrefix(streamPrefix);
      return startPollingSubscription({
        read: streamPrefix === undefined ? unfiltered(readAll) : (from, max) => readCategory(streamPrefix, from, max),
        wake: (listener) => {
          appended.on('append', listener);
          return () => appended.off('append', listener);
        },
        after,
        handler,
        pollIntervalMs: 500,
        ...(batchSize === undefined ? {} : { batchSize }),
        ...(onError === undefined ? {} : { onError }),
      });
    },
    async close() {
      while (flushing) await new Promise((r) => setTimeout(r, 5));
      await notifications.stop();
      appended.removeAllListeners();
    },
  };
}

export type { pg };
