/**
 * The login handler's reads: a user's folded state and revision, plus the owners of the claims
 * the decision needs, in one round trip where the store can (readStreamWithClaims).
 *
 * Folded states are cached per stream with their revision. A load reads only the events after
 * the cached revision (usually none), so a returning user with a long history costs no more than
 * a new one; the revision check keeps the cache exact whoever else appends, and the expected
 * revision of the append is what decides, never the cache.
 */
import { userStreamId, type UserEvent } from '../../../events/catalogue.js';
import type { RecordedEvent } from '../../../events/envelope.js';
import type { ClaimKey, EventStore } from '../../shared/eventStore/eventStore.js';
import { evolve, initialState, type EvolvableUserEvent, type UserState } from '../user/userState.js';

export type LoadedStream = { streamId: string; state: UserState; revision: number | undefined };

/** Streams whose folded state a process keeps (least recently used are dropped first). */
const MAX_CACHED_STREAMS = 50_000;

type Folded = Readonly<{ state: UserState; revision: number }>;
const caches = new WeakMap<EventStore, Map<string, Folded>>();

function cacheOf(store: EventStore): Map<string, Folded> {
  let cache = caches.get(store);
  if (!cache) caches.set(store, (cache = new Map()));
  return cache;
}

function fold(base: Folded | undefined, streamId: string, events: readonly RecordedEvent[]): LoadedStream {
  const state = (events as RecordedEvent<UserEvent>[]).reduce<UserState>((s, e) => evolve(s, e as EvolvableUserEvent), base?.state ?? initialState());
  return { streamId, state, revision: events.at(-1)?.revision ?? base?.revision };
}

/** Remembers a stream's state after this process appended to it. */
export function rememberUserState(store: EventStore, loaded: LoadedStream): void {
  if (loaded.revision === undefined) return;
  const cache = cacheOf(store);
  cache.delete(loaded.streamId);
  cache.set(loaded.streamId, { state: loaded.state, revision: loaded.revision });
  if (cache.size > MAX_CACHED_STREAMS) cache.delete(cache.keys().next().value!);
}

/** The user's state (from the cache and the events after it) and the owner of each claim. */
export async function loadUserWithClaims(store: EventStore, userId: string, claims: readonly ClaimKey[] = []): Promise<{ loaded: LoadedStream; owners: (string | undefined)[] }> {
  const streamId = userStreamId(userId);
  const cached = cacheOf(store).get(streamId);
  const fromRevision = cached ? cached.revision + 1 : 0;
  const { events, owners } = store.readStreamWithClaims
    ? await store.readStreamWithClaims(streamId, { fromRevision, claims })
    : await Promise.all([store.readStream(streamId, { fromRevision }), Promise.all(claims.map((c) => store.findClaim(c.scope, c.key)))]).then(([e, o]) => ({ events: e, owners: o }));
  const loaded = fold(cached, streamId, events);
  if (events.length > 0) rememberUserState(store, loaded);
  return { loaded, owners };
}

export async function loadUser(store: EventStore, userId: string): Promise<LoadedStream> {
  return (await loadUserWithClaims(store, userId)).loaded;
}
