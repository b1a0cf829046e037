/**
 * An EventStore that times its appends (jit_event_store_append_seconds{backend}). The runtime hands
 * this one to every writer.
 */
import type { AppendOptions, AppendResult, EventStore } from '../eventStore/eventStore.js';
import type { NewEvent } from '../../../events/envelope.js';
import type { JitMetrics } from './metrics.js';

export function timedEventStore(store: EventStore, metrics: JitMetrics): EventStore {
  const appendDuration = metrics.appendDuration.labels({ backend: store.kind });
  // Everything but appendToStream is the adapter's own, reached through the prototype: optional
  // methods an adapter has (and the port may grow) stay available exactly as it offers them.
  const timed = Object.create(store) as EventStore;
  Object.defineProperty(timed, 'appendToStream', {
    enumerable: true,
    value: async (streamId: string, events: readonly NewEvent[], options: AppendOptions): Promise<AppendResult> => {
      const end = appendDuration.startTimer();
      try {
        return await store.appendToStream(streamId, events, options);
      } finally {
        end();
      }
    },
  });
  return timed;
}
