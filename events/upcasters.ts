/**
 * Upcasters turn stored event data written under an older schema version into the current shape,
 * so deciders and projections only ever see current events. Register one per (type, fromVersion)
 * whenever a schema's version is bumped; the stored bytes are never rewritten.
 */
import type { RawRecordedEvent } from './envelope.js';

export type Upcaster = Readonly<{
  type: string;
  fromVersion: number;
  upcast: (data: unknown) => unknown;
}>;

/** No event schema has changed since version 1 yet. */
export const UPCASTERS: readonly Upcaster[] = [];

export function upcastEvent(event: RawRecordedEvent, upcasters: readonly Upcaster[] = UPCASTERS): RawRecordedEvent {
  let current = event;
  for (;;) {
    const version = current.metadata.schemaVersion;
    const step = upcasters.find((u) => u.type === current.type && u.fromVersion === version);
    if (!step) return current;
    current = { ...current, data: step.upcast(current.data), metadata: { ...current.metadata, schemaVersion: version + 1 } };
  }
}
