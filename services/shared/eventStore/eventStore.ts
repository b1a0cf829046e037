/**
 * The EventStore port. Adapters (sqlite, postgres) are factories returning this interface; the
 * contract suite in eventStoreContract.ts is what "an adapter works" means.
 */
import type { NewEvent, RawRecordedEvent, RecordedEvent } from '../../../events/envelope.js';

/** A number is the revision the stream must be at (0-based, the revision of its last event). */
export type ExpectedRevision = number | 'no-stream' | 'stream-exists' | 'any';

/**
 * A uniqueness claim written atomically with an append: at most one owner per (scope, key).
 * Usernames, linked identities and processed login ids use it.
 */
export type Claim = Readonly<{ scope: string; key: string; owner: string }>;

export type ClaimKey = Readonly<{ scope: string; key: string }>;

/** The stream's events (in revision order) and the owner of each requested claim, in the same order. */
export type StreamWithClaims = Readonly<{ events: RecordedEvent[]; owners: (string | undefined)[] }>;

export type AppendOptions = Readonly<{
  expectedRevision: ExpectedRevision;
  /** Inserted in the same transaction; a claim already held by another owner fails the append. */
  claims?: readonly Claim[];
  /** Deleted in the same transaction when held by the given owner. */
  releases?: readonly Claim[];
}>;

export type AppendResult = Readonly<{
  nextExpectedRevision: number;
  lastPosition: number;
  records: readonly RecordedEvent[];
}>;

export type ReadAllOptions = Readonly<{
  /** Only events with a position greater than this (0 = from the beginning). */
  after?: number;
  maxCount?: number;
}>;

/** `upTo`: the log position the batch covers (the last event's, or beyond it when filtered by streamPrefix). */
export type EventBatchHandler = (events: readonly RawRecordedEvent[], upTo: number) => Promise<void> | void;

export type SubscribeOptions = Readonly<{
  after: number;
  handler: EventBatchHandler;
  batchSize?: number;
  /**
   * Only events of streams whose id starts with this (a category such as "idp-": lower-case
   * letters and digits, then "-"). The log still counts as read up to the head: the handler is
   * also called with no events and a larger `upTo` when only other streams moved, and position()
   * follows. Read through an index where the adapter has one for the category, so a subscriber of
   * a small category does not read the whole log.
   */
  streamPrefix?: string;
  /** Called with every failure of a read or of the handler; the batch is then retried. */
  onError?: (error: unknown) => void;
}>;

export interface Subscription {
  /** Resolves once the subscriber has processed everything that was in the store when it started. */
  readonly caughtUp: Promise<void>;
  /** Log position the handler has processed without error (its last event's, or beyond when filtered). */
  position(): number;
  stop(): Promise<void>;
}

export interface EventStore {
  readonly kind: 'sqlite' | 'postgres';
  appendToStream(streamId: string, events: readonly NewEvent[], options: AppendOptions): Promise<AppendResult>;
  /** The stream's events in revision order; an empty array when the stream does not exist. */
  readStream(streamId: string, options?: { fromRevision?: number; maxCount?: number }): Promise<RecordedEvent[]>;
  /** Events of every stream in position order: the log. Types are not checked here. */
  readAll(options?: ReadAllOptions): Promise<RawRecordedEvent[]>;
  /** Position of the last committed event (0 when empty). */
  headPosition(): Promise<number>;
  /** The owner of a claim, if any. */
  findClaim(scope: string, key: string): Promise<string | undefined>;
  /**
   * readStream and findClaim of each claim together, in one round trip where the adapter can (the
   * login handler's reads). Optional: callers fall back to the separate calls.
   */
  readStreamWithClaims?(streamId: string, options: { fromRevision?: number; claims: readonly ClaimKey[] }): Promise<StreamWithClaims>;
  /** Delivers the log from `after` on, in order and in batches, then every new event as it commits. */
  subscribeToAll(options: SubscribeOptions): Subscription;
  close(): Promise<void>;
}

const STREAM_PREFIX = /^[a-z][a-z0-9]*-$/;

/** Rejects a streamPrefix that is not a plain category (it ends up in SQL text as a literal). */
export function assertStreamPrefix(prefix: string): void {
  if (!STREAM_PREFIX.test(prefix)) throw new Error(`streamPrefix must be lower-case letters and digits followed by "-", got ${JSON.stringify(prefix)}`);
}

export class WrongExpectedRevisionError extends Error {
  readonly streamId: string;
  readonly expected: ExpectedRevision;
  readonly actual: number | 'no-stream';
  constructor(streamId: string, expected: ExpectedRevision, actual: number | 'no-stream') {
    super(`stream ${streamId} is at revision ${String(actual)}, expected ${String(expected)}`);
    this.name = 'WrongExpectedRevisionError';
    this.streamId = streamId;
    this.expected = expected;
    this.actual = actual;
  }
}

export class ClaimConflictError extends Error {
  readonly claim: Claim;
  readonly heldBy: string;
  constructor(claim: Claim, heldBy: string) {
    super(`${claim.scope} '${claim.key}' is held by ${heldBy}`);
    this.name = 'ClaimConflictError';
    this.claim = claim;
    this.heldBy = heldBy;
  }
}

export class DuplicateEventIdError extends Error {
  readonly eventId: string;
  constructor(eventId: string, options?: { cause?: unknown }) {
    super(`an event with id ${eventId} is already stored`, options);
    this.name = 'DuplicateEventIdError';
    this.eventId = eventId;
  }
}

/** Checks an expected revision against the stream's current one (shared by every adapter). */
export function checkExpectedRevision(streamId: string, expected: ExpectedRevision, actual: number | undefined): void {
  const current = actual ?? 'no-stream';
  const ok =
    expected === 'any' ||
    (expected === 'no-stream' && actual === undefined) ||
    (expected === 'stream-exists' && actual !== undefined) ||
    (typeof expected === 'number' && expected === actual);
  if (!ok) throw new WrongExpectedRevisionError(streamId, expected, current);
}

export function assertAppendable(streamId: string, events: readonly NewEvent[]): void {
  if (streamId.length === 0 || streamId.length > 200) throw new RangeError('stream id must have 1 to 200 characters');
  if (events.length === 0) throw new RangeError('append needs at least one event');
  const ids = new Set(events.map((e) => e.eventId));
  if (ids.size !== events.length) throw new DuplicateEventIdError(events.find((e, i) => events.findIndex((o) => o.eventId === e.eventId) !== i)?.eventId ?? '');
}
