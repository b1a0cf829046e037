/**
 * Envelopes: an event on its way into the store (NewEvent) and as recorded (RecordedEvent).
 * The store adds streamId, revision, the global gap-free position and recordedAt.
 */
import type { DomainEvent, EventMetadata } from './catalogue.js';

export type NewEvent<E extends DomainEvent = DomainEvent> = E & {
  readonly eventId: string;
  readonly metadata: EventMetadata;
};

export type RecordedEvent<E extends DomainEvent = DomainEvent> = NewEvent<E> & {
  readonly streamId: string;
  readonly revision: number;
  readonly position: number;
  readonly recordedAt: string;
};

/** A recorded event whose type is not (or no longer) known; kept for inspection, never folded. */
export type RawRecordedEvent = {
  readonly eventId: string;
  readonly type: string;
  readonly data: unknown;
  readonly metadata: EventMetadata;
  readonly streamId: string;
  readonly revision: number;
  readonly position: number;
  readonly recordedAt: string;
};
