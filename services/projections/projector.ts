/**
 * In-process projection (embedded mode, or PostgreSQL without Kafka): follows the event store's
 * log from the read model's checkpoint and applies it in batches.
 */
import type { RawRecordedEvent } from '../../events/envelope.js';
import type { EventStore, Subscription } from '../shared/eventStore/eventStore.js';
import { LIVE_PROJECTION, type ReadModel } from './readModel.js';

export type Projector = {
  readonly caughtUp: Promise<void>;
  position(): number;
  /** Resolves once every event up to this position is in the read model. */
  waitFor(position: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
};

export async function startStoreProjector(options: {
  store: EventStore;
  readModel: ReadModel;
  projection?: string;
  batchSize?: number;
  onError?: (error: unknown) => void;
  /** Told of each batch once the read model committed it (the projection-delay metric). */
  onApplied?: (events: readonly RawRecordedEvent[]) => void;
}): Promise<Projector> {
  const projection = options.projection ?? LIVE_PROJECTION;
  const after = await options.readModel.checkpoint(projection);
  let applied = after;
  const waiters = new Set<{ position: number; resolve: () => void }>();
  const subscription: Subscription = options.store.subscribeToAll({
    after,
    batchSize: options.batchSize ?? 500,
    handler: async (batch) => {
      await options.readModel.applyEvents(batch, projection);
      options.onApplied?.(batch);
      applied = batch.at(-1)?.position ?? applied;
      for (const waiter of waiters) {
        if (waiter.position <= applied) {
          waiters.delete(waiter);
          waiter.resolve();
        }
      }
    },
    ...(options.onError ? { onError: options.onError } : {}),
  });
  return {
    caughtUp: subscription.caughtUp,
    position: () => applied,
    waitFor(position, timeoutMs = 10_000) {
      if (position <= applied) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const waiter = { position, resolve: () => (clearTimeout(timer), resolve()) };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`projection did not reach position ${position} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    stop: () => subscription.stop(),
  };
}
