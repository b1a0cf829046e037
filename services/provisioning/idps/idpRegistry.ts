/**
 * The IdP directory: current configurations folded from the idp-* streams, kept current by a
 * subscription to the store so that every process sees changes made by any other.
 */
import { IDP_EVENT_TYPES, type IdpEvent } from '../../../events/catalogue.js';
import type { RawRecordedEvent } from '../../../events/envelope.js';
import type { IdpStored } from '../../../schemas/types.gen.js';
import type { EventStore, Subscription } from '../../shared/eventStore/eventStore.js';
import type { IdpDirectory } from './idpDirectory.js';
import { evolveIdp, initialIdpState, type IdpState } from './idpDecider.js';

export type IdpRegistry = IdpDirectory & {
  state(id: string): IdpState;
  lastUpdated(id: string): string | undefined;
  /** Stream revision of an IdP, for optimistic concurrency of admin changes. */
  revision(id: string): number | undefined;
  stop(): Promise<void>;
};

const isIdpEvent = (event: RawRecordedEvent): boolean => (IDP_EVENT_TYPES as readonly string[]).includes(event.type);

export async function startIdpRegistry(store: EventStore, options: { onError?: (error: unknown) => void } = {}): Promise<IdpRegistry> {
  const states = new Map<string, { state: IdpState; revision: number }>();
  let applied = 0;
  const waiters: { position: number; resolve: () => void }[] = [];

  // Only the idp-* streams (through an index): a process starts without reading every user's events.
  const subscription: Subscription = store.subscribeToAll({
    after: 0,
    batchSize: 1000,
    streamPrefix: 'idp-',
    handler: (batch, upTo) => {
      for (const event of batch) {
        if (isIdpEvent(event)) {
          const id = event.streamId.slice('idp-'.length);
          const current = states.get(id)?.state ?? initialIdpState();
          states.set(id, { state: evolveIdp(current, event as unknown as IdpEvent & { recordedAt: string }), revision: event.revision });
        }
      }
      applied = upTo;
      for (const waiter of waiters.filter((w) => w.position <= applied)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    },
    ...(options.onError ? { onError: options.onError } : {}),
  });
  await subscription.caughtUp;

  const active = (id: string): IdpStored | undefined => {
    const entry = states.get(id)?.state;
    return entry?.status === 'active' ? entry.idp : undefined;
  };

  return {
    get: active,
    list: () =>
      [...states.values()]
        .flatMap((e) => (e.state.status === 'active' ? [e.state.idp] : []))
        .sort((a, b) => a.id.localeCompare(b.id)),
    state: (id) => states.get(id)?.state ?? initialIdpState(),
    lastUpdated: (id) => {
      const state = states.get(id)?.state;
      return state && state.status !== 'absent' ? state.lastUpdated : undefined;
    },
    revision: (id) => states.get(id)?.revision,
    waitFor(position) {
      if (position <= applied) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ position, resolve }));
    },
    stop: () => subscription.stop(),
  };
}
