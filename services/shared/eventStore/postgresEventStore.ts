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
  type AppendOptions,
  type AppendResult,
  type EventStore,
} from './eventStore.js';
import { startPollingSubscription } from './pollingSubscription.js';
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

/** A stream's events from a revision and the owners of some claims, in one statement. */
const READ_STREAM_WITH_CLAIMS = `
  SELECT position, event_id, stream_id, revision, type, data, metadata, recorded_at,
         NULL::text AS claim_scope, NULL::text AS claim_key, NULL::text AS claim_owner
    FROM jit_events WHERE stream_id = $1 AND revision >= $2
  UNION ALL
  SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, c.scope, c.key, c.owner
    FROM jit_claims c WHERE (c.scope, c.key) IN (SELECT * FROM unnest($3::text[], $4::text[]))`;

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
    const { rows } = await pool.query<{ results: ItemResult[] }>('SELECT jit_append_batch($1::jsonb) AS results', [JSON.stringify(batch.map(itemPayload))]);
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

  const readAll = async (after: number, maxCount: number): Promise<RawRecordedEvent[]> => {
    const { rows } = await pool.query<EventRow>(
      'SELECT position, event_id, stream_id, revision, type, data, metadata, recorded_at FROM jit_events WHERE position > $1 ORDER BY position LIMIT $2',
      [after, maxCount],
    );
    return rows.map(toRecorded);
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
    async readStreamWithClaims(streamId, opts) {
      const { rows } = await pool.query<EventRow & { claim_scope: string | null; claim_key: string | null; claim_owner: string | null }>(
        READ_STREAM_WITH_CLAIMS,
        [streamId, opts.fromRevision ?? 0, opts.claims.map((c) => c.scope), opts.claims.map((c) => c.key)],
      );
      const owners = new Map<string, string>();
      const events: RecordedEvent[] = [];
      for (const row of rows) {
        if (row.claim_scope !== null) owners.set(`${row.claim_scope}\n${row.claim_key}`, row.claim_owner!);
        else events.push(toRecorded(row) as RecordedEvent);
      }
      events.sort((a, b) => a.revision - b.revision);
      return { events, owners: opts.claims.map((c) => owners.get(`${c.scope}\n${c.key}`)) };
    },
    subscribeToAll({ after, handler, batchSize, onError }) {
      return startPollingSubscription({
        read: readAll,
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
