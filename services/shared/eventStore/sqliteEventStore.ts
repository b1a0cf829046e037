/**
 * SQLite adapter of the EventStore port (better-sqlite3, synchronous inside, async outside).
 * Positions are INTEGER PRIMARY KEY values assigned as max+1 inside an IMMEDIATE transaction:
 * one writer at a time, so the log is gap-free and commit order equals position order.
 */
import { EventEmitter } from 'node:events';
import type { NewEvent, RawRecordedEvent, RecordedEvent } from '../../../events/envelope.js';
import { upcastEvent } from '../../../events/upcasters.js';
import { assertDomainEvent } from '../../../events/validate.js';
import type { EventMetadata } from '../../../events/catalogue.js';
import { migrateSqlite, type SqliteDatabase } from '../sqlite/database.js';
import {
  ClaimConflictError,
  DuplicateEventIdError,
  assertAppendable,
  assertStreamPrefix,
  checkExpectedRevision,
  type AppendOptions,
  type AppendResult,
  type EventStore,
} from './eventStore.js';
import { startPollingSubscription, unfiltered } from './pollingSubscription.js';

const MIGRATIONS = [
  {
    name: 'event-store-1',
    sql: `
      CREATE TABLE events (
        position INTEGER PRIMARY KEY,
        event_id TEXT NOT NULL UNIQUE,
        stream_id TEXT NOT NULL,
        revision INTEGER NOT NULL,
        type TEXT NOT NULL,
        data TEXT NOT NULL,
        metadata TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        UNIQUE (stream_id, revision)
      );
      CREATE TABLE streams (stream_id TEXT PRIMARY KEY, revision INTEGER NOT NULL);
      CREATE TABLE claims (scope TEXT NOT NULL, key TEXT NOT NULL, owner TEXT NOT NULL, PRIMARY KEY (scope, key));
    `,
  },
  {
    // The IdP registry follows the idp-* streams only: this index spares it reading the whole log.
    name: 'event-store-2-idp-positions',
    sql: `CREATE INDEX events_idp_by_position ON events (position) WHERE substr(stream_id, 1, 4) = 'idp-';`,
  },
];

type EventRow = {
  position: number;
  event_id: string;
  stream_id: string;
  revision: number;
  type: string;
  data: string;
  metadata: string;
  recorded_at: string;
};

function toRecorded(row: EventRow): RawRecordedEvent {
  return upcastEvent({
    eventId: row.event_id,
    type: row.type,
    data: JSON.parse(row.data) as unknown,
    metadata: JSON.parse(row.metadata) as EventMetadata,
    streamId: row.stream_id,
    revision: row.revision,
    position: row.position,
    recordedAt: row.recorded_at,
  });
}

export function getSqliteEventStore(db: SqliteDatabase, options: { now?: () => Date } = {}): EventStore {
  const now = options.now ?? (() => new Date());
  migrateSqlite(db, MIGRATIONS);
  const appended = new EventEmitter();
  appended.setMaxListeners(0);

  const statements = {
    streamRevision: db.prepare<[string], { revision: number }>('SELECT revision FROM streams WHERE stream_id = ?'),
    head: db.prepare<[], { head: number | null }>('SELECT MAX(position) AS head FROM events'),
    claimOwner: db.prepare<[string, string], { owner: string }>('SELECT owner FROM claims WHERE scope = ? AND key = ?'),
    insertClaim: db.prepare('INSERT INTO claims (scope, key, owner) VALUES (?, ?, ?)'),
    releaseClaim: db.prepare('DELETE FROM claims WHERE scope = ? AND key = ? AND owner = ?'),
    insertEvent: db.prepare(
      'INSERT INTO events (position, event_id, stream_id, revision, type, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    upsertStream: db.prepare(
      'INSERT INTO streams (stream_id, revision) VALUES (?, ?) ON CONFLICT (stream_id) DO UPDATE SET revision = excluded.revision',
    ),
    readStream: db.prepare<[string, number, number], EventRow>(
      'SELECT * FROM events WHERE stream_id = ? AND revision >= ? ORDER BY revision LIMIT ?',
    ),
    readAll: db.prepare<[number, number], EventRow>('SELECT * FROM events WHERE position > ? ORDER BY position LIMIT ?'),
  };

  const append = db.transaction((streamId: string, events: readonly NewEvent[], opts: AppendOptions): AppendResult => {
    const current = statements.streamRevision.get(streamId)?.revision;
    checkExpectedRevision(streamId, opts.expectedRevision, current);
    for (const claim of opts.releases ?? []) statements.releaseClaim.run(claim.scope, claim.key, claim.owner);
    for (const claim of opts.claims ?? []) {
      const holder = statements.claimOwner.get(claim.scope, claim.key)?.owner;
      if (holder === undefined) statements.insertClaim.run(claim.scope, claim.key, claim.owner);
      else if (holder !== claim.owner) throw new ClaimConflictError(claim, holder);
    }
    let position = statements.head.get()?.head ?? 0;
    let revision = current ?? -1;
    const recordedAt = now().toISOString();
    const records: RecordedEvent[] = [];
    for (const event of events) {
      position += 1;
      revision += 1;
      try {
        statements.insertEvent.run(
          position,
          event.eventId,
          streamId,
          revision,
          event.type,
          JSON.stringify(event.data),
          JSON.stringify(event.metadata),
          recordedAt,
        );
      } catch (error) {
        if (isUniqueViolation(error, 'events.event_id')) throw new DuplicateEventIdError(event.eventId, { cause: error });
        throw error;
      }
      records.push({ ...event, streamId, revision, position, recordedAt });
    }
    statements.upsertStream.run(streamId, revision);
    return { nextExpectedRevision: revision, lastPosition: position, records };
  });

  const readAll = (after: number, maxCount: number): RawRecordedEvent[] =>
    statements.readAll.all(after, maxCount).map(toRecorded);

  return {
    kind: 'sqlite',
    async appendToStream(streamId, events, opts) {
      assertAppendable(streamId, events);
      for (const event of events) assertDomainEvent(event);
      const result = append.immediate(streamId, events, opts);
      appended.emit('append', result.lastPosition);
      return result;
    },
    async readStream(streamId, opts = {}) {
      const rows = statements.readStream.all(streamId, opts.fromRevision ?? 0, opts.maxCount ?? Number.MAX_SAFE_INTEGER);
      // Stored data was validated on append; upcasting keeps it current.
      return rows.map((row) => toRecorded(row) as RecordedEvent);
    },
    async readAll(opts = {}) {
      return readAll(opts.after ?? 0, opts.maxCount ?? Number.MAX_SAFE_INTEGER);
    },
    async headPosition() {
      return statements.head.get()?.head ?? 0;
    },
    async findClaim(scope, key) {
      return statements.claimOwner.get(scope, key)?.owner;
    },
    async readStreamWithClaims(streamId, opts) {
      const events = statements.readStream.all(streamId, opts.fromRevision ?? 0, Number.MAX_SAFE_INTEGER).map((row) => toRecorded(row) as RecordedEvent);
      return { events, owners: opts.claims.map((c) => statements.claimOwner.get(c.scope, c.key)?.owner) };
    },
    subscribeToAll({ after, handler, batchSize, onError, streamPrefix }) {
      if (streamPrefix !== undefined) assertStreamPrefix(streamPrefix);
      const category =
        streamPrefix === undefined
          ? undefined
          : db.prepare<[number, number], EventRow>(categorySql(streamPrefix));
      // One read transaction: the head and the category's events from the same snapshot.
      const readCategory = db.transaction((from: number, max: number) => {
        const events = category!.all(from, max).map(toRecorded);
        const head = statements.head.get()?.head ?? 0;
        return { events, upTo: events.length >= max ? events.at(-1)!.position : Math.max(head, from, events.at(-1)?.position ?? from) };
      });
      return startPollingSubscription({
        read: category === undefined ? unfiltered(async (from, max) => readAll(from, max)) : async (from, max) => readCategory(from, max),
        wake: (listener) => {
          appended.on('append', listener);
          return () => appended.off('append', listener);
        },
        after,
        handler,
        ...(batchSize === undefined ? {} : { batchSize }),
        ...(onError === undefined ? {} : { onError }),
      });
    },
    async close() {
      appended.removeAllListeners();
    },
  };
}

/** Events of one stream category after a position; for "idp-" it matches the partial index events_idp_by_position. */
export function categorySql(prefix: string): string {
  assertStreamPrefix(prefix);
  return `SELECT * FROM events WHERE substr(stream_id, 1, ${prefix.length}) = '${prefix}' AND position > ? ORDER BY position LIMIT ?`;
}

function isUniqueViolation(error: unknown, column: string): boolean {
  return error instanceof Error && 'code' in error && error.code === 'SQLITE_CONSTRAINT_UNIQUE' && error.message.includes(column);
}
