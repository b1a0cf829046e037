/**
 * The login command handler: read the user's stream, fold, decide, append with the expected
 * revision and the uniqueness claims, retry on a concurrency conflict. Used by the HTTP route, the
 * Kafka consumer of jit.logins.v1 and the SSO gateway alike.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { userStreamId, type UserEvent } from '../../../events/catalogue.js';
import type { NewEvent, RecordedEvent } from '../../../events/envelope.js';
import type { IdpStored, LoginSucceeded } from '../../../schemas/types.gen.js';
import { ServiceError } from '../../shared/errors.js';
import {
  ClaimConflictError,
  WrongExpectedRevisionError,
  type Claim,
  type EventStore,
} from '../../shared/eventStore/eventStore.js';
import { identityKey, userIdOf } from '../../shared/ids.js';
import type { IdpDirectory } from '../idps/idpDirectory.js';
import type { HandleLogin, MappedLogin } from '../user/commands.js';
import { decide, jitSettings } from '../user/decide.js';
import { usernameKey } from '../user/normalize.js';
import { outcomeOf, type LoginOutcome } from '../user/outcome.js';
import { evolve, initialState, type EvolvableUserEvent, type UserState } from '../user/userState.js';
import type { LoginObserver } from './loginTelemetry.js';
import { mapLogin } from './mapLogin.js';
import { loadUser, loadUserWithClaims, rememberUserState } from './userStreams.js';

export type LoginHandlerDeps = Readonly<{
  store: EventStore;
  idps: IdpDirectory;
  now: () => Date;
  newId: () => string;
  maxAttempts?: number;
  /** Keeps the login's attributes for impact analysis (see shared/loginSnapshots); failures only cost that. */
  recordLogin?: (userId: string, login: LoginSucceeded) => Promise<void>;
  /** Told of every outcome or error with its duration (metrics and the login log line). */
  observeLogin?: LoginObserver;
}>;

export type LoginContext = Readonly<{ correlationId: string; actor: string; causationId?: string }>;

export type LoginResult = LoginOutcome & { readonly lastPosition: number };

const CLOCK_SKEW_MS = 5 * 60_000;

/** Claims that must hold atomically with these events: usernames, identities, the login id. */
export function claimsFor(events: readonly UserEvent[], userId: string, loginId: string): { claims: Claim[]; releases: Claim[] } {
  const claims: Claim[] = [{ scope: 'login', key: loginId, owner: userStreamId(userId) }];
  const releases: Claim[] = [];
  for (const event of events) {
    if (event.type === 'UserProvisioned') {
      claims.push({ scope: 'username', key: usernameKey(event.data.username), owner: userId });
      claims.push({ scope: 'identity', key: identityKey(event.data['idp-id'], event.data.subject), owner: userId });
    } else if (event.type === 'UserIdentityLinked') {
      claims.push({ scope: 'identity', key: identityKey(event.data['idp-id'], event.data.subject), owner: userId });
    } else if (event.type === 'UserUpdated' && event.data.changes.username) {
      const { from, to } = event.data.changes.username;
      if (usernameKey(from) !== usernameKey(to)) {
        releases.push({ scope: 'username', key: usernameKey(from), owner: userId });
        claims.push({ scope: 'username', key: usernameKey(to), owner: userId });
      }
    }
  }
  return { claims, releases };
}

/** The outcome a login id already produced, re-read from the events it wrote. */
async function previousOutcome(store: EventStore, streamId: string, loginId: string): Promise<LoginResult | undefined> {
  const events = (await store.readStream(streamId)) as RecordedEvent<UserEvent>[];
  const last = events.findLastIndex((e) => e.metadata.loginId === loginId);
  if (last < 0) return undefined;
  const upTo = events.slice(0, last + 1);
  const state = upTo.reduce<UserState>((s, e) => evolve(s, e as EvolvableUserEvent), initialState());
  const own = upTo.filter((e) => e.metadata.loginId === loginId);
  return { ...outcomeOf(own, state.status === 'provisioned' ? state : undefined), lastPosition: upTo[last]!.position };
}

/** A lone UTF-16 surrogate: JSON can carry one, but it is no Unicode text and SQLite would store it altered. */
const LONE_SURROGATE = /\p{Cs}/u;

/** Walks a JSON value without recursion, so that no nesting depth can exhaust the stack. */
function hasLoneSurrogate(root: unknown): boolean {
  const pending: unknown[] = [root];
  while (pending.length > 0) {
    const value = pending.pop();
    if (typeof value === 'string') {
      if (LONE_SURROGATE.test(value)) return true;
    } else if (value !== null && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) {
        if (LONE_SURROGATE.test(key)) return true;
        pending.push(item);
      }
    }
  }
  return false;
}

function checkLogin(login: LoginSucceeded, ssoType: 'SAML' | 'OIDC', now: Date): void {
  if ((ssoType === 'SAML') !== (login.protocol === 'saml')) {
    throw new ServiceError('protocol-mismatch', `IdP ${login.idpId} is ${ssoType}; the login is ${login.protocol}`);
  }
  if (hasLoneSurrogate([login.subject, login.attributes, login.claims])) {
    throw new ServiceError('invalid-request', 'The login carries text that is not well-formed Unicode (a lone surrogate)');
  }
  if (Date.parse(login.authenticatedAt) > now.getTime() + CLOCK_SKEW_MS) {
    throw new ServiceError('invalid-request', 'authenticatedAt lies in the future');
  }
  const sub = login.claims?.['sub' as keyof typeof login.claims] as unknown;
  if (login.protocol === 'oidc' && sub !== undefined && sub !== login.subject) {
    throw new ServiceError('invalid-request', 'claims.sub must equal subject');
  }
}

export async function provisionOnLogin(deps: LoginHandlerDeps, login: LoginSucceeded, context: LoginContext): Promise<LoginResult> {
  const started = performance.now();
  const seconds = () => (performance.now() - started) / 1000;
  try {
    const result = await handleLogin(deps, login, context);
    deps.observeLogin?.({ login, context, result, seconds: seconds() });
    return result;
  } catch (error) {
    deps.observeLogin?.({ login, context, error, seconds: seconds() });
    throw error;
  }
}

async function handleLogin(deps: LoginHandlerDeps, login: LoginSucceeded, context: LoginContext): Promise<LoginResult> {
  const { store } = deps;
  const idp = deps.idps.get(login.idpId);
  if (!idp) throw new ServiceError('idp-not-found', `No IdP with id ${login.idpId}`);
  checkLogin(login, idp['sso-type'], deps.now());

  const mapped = mapLogin(idp, login);
  return oneAtATime(store, identityKey(login.idpId, login.subject), () => decideAndAppend(deps, login, context, idp, mapped));
}

/**
 * Logins of one identity that reach this process together run one after another: raced, all but
 * one would lose the append each round, and a burst of them would exhaust the retries.
 */
const queues = new WeakMap<EventStore, Map<string, Promise<unknown>>>();

function oneAtATime<T>(store: EventStore, key: string, work: () => Promise<T>): Promise<T> {
  let byKey = queues.get(store);
  if (!byKey) queues.set(store, (byKey = new Map()));
  const current = (byKey.get(key) ?? Promise.resolve()).then(work);
  const done = current.then(
    () => undefined,
    () => undefined,
  );
  byKey.set(key, done);
  void done.then(() => {
    if (byKey.get(key) === done) byKey.delete(key);
  });
  return current;
}

async function decideAndAppend(deps: LoginHandlerDeps, login: LoginSucceeded, context: LoginContext, idp: IdpStored, mapped: MappedLogin): Promise<LoginResult> {
  const { store } = deps;
  const maxAttempts = deps.maxAttempts ?? 8;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    // One round trip: the stream of the identity's own user id (the usual owner) and the claims.
    const derivedId = userIdOf(login.idpId, login.subject);
    const claims = [
      { scope: 'login', key: login.loginId },
      { scope: 'identity', key: identityKey(login.idpId, login.subject) },
      ...(mapped.ok && mapped.username.kind === 'value' ? [{ scope: 'username', key: usernameKey(mapped.username.value) }] : []),
    ];
    const read = await loadUserWithClaims(store, derivedId, claims);
    const [processedBy, identityOwner, usernameOwner] = read.owners;
    if (processedBy !== undefined) {
      const previous = await previousOutcome(store, processedBy, login.loginId);
      if (previous) return previous;
    }
    const ownId = identityOwner ?? derivedId;
    let loaded = ownId === derivedId ? read.loaded : await loadUser(store, ownId);
    let link = false;
    if (loaded.state.status === 'unknown' && usernameOwner !== undefined && usernameOwner !== ownId && jitSettings(idp)['link-existing-users']) {
      loaded = await loadUser(store, usernameOwner);
      link = loaded.state.status === 'provisioned';
      if (!link) loaded = await loadUser(store, ownId);
    }
    const userId = link ? usernameOwner! : ownId;
    const now = deps.now();
    const command: HandleLogin = {
      type: 'HandleLogin',
      data: { login, idp, mapped, userId, usernameOwner, link },
      metadata: { now: now.toISOString() },
    };
    const decided = decide(command, loaded.state);
    const metadata = { loginId: login.loginId, correlationId: context.correlationId, actor: context.actor, schemaVersion: 1, ...(context.causationId ? { causationId: context.causationId } : {}) };
    const events: NewEvent[] = decided.map((event) => ({ ...event, eventId: deps.newId(), metadata }));
    try {
      const result = await store.appendToStream(loaded.streamId, events, {
        expectedRevision: loaded.revision ?? 'no-stream',
        ...claimsFor(decided, userId, login.loginId),
      });
      const after = result.records.reduce<UserState>((s, e) => evolve(s, e as RecordedEvent<UserEvent> as EvolvableUserEvent), loaded.state);
      rememberUserState(store, { streamId: loaded.streamId, state: after, revision: result.nextExpectedRevision });
      await deps.recordLogin?.(userId, login).catch(() => undefined);
      return { ...outcomeOf(decided, after.status === 'provisioned' ? after : undefined), lastPosition: result.lastPosition };
    } catch (error) {
      if (!(error instanceof WrongExpectedRevisionError || error instanceof ClaimConflictError)) throw error;
      // Another process won this round; a random pause keeps the contenders from colliding again.
      await sleep(Math.random() * 2 ** attempt);
    }
  }
  throw new ServiceError('conflict', 'The login kept conflicting with concurrent changes; try again');
}
