/**
 * The replay's fold: the same transitions as `evolve` (services/provisioning/user/userState.ts),
 * applied in place. Replay owns every state it folds (built here, or freshly parsed from the
 * fresh tables), so nothing else can observe the mutation, and a million events no longer cost a
 * million copied states. replayFold.test.ts checks it against foldUser on random logs: any change
 * to evolve must be mirrored here.
 */
import type { RawRecordedEvent } from '../../events/envelope.js';
import { groupKey } from '../provisioning/user/normalize.js';
import { evolve, sourceKey, type EvolvableUserEvent, type Grant, type Identity, type UserState } from '../provisioning/user/userState.js';
import { isUserStreamEvent, userIdOfStream, type ProjectedUser } from './userProjection.js';

type MutableMembership = { name: string; grants: Grant[] };

type MutableProvisionedUser = {
  status: 'provisioned';
  userId: string;
  username: string;
  displayName: string;
  email: string;
  active: boolean;
  idpId: string;
  subject: string;
  identities: Identity[];
  groups: Record<string, MutableMembership>;
  provisionedAt: string;
  lastLoginAt: string | undefined;
  deactivatedAt: string | undefined;
};

type MutableUnknownUser = { status: 'unknown'; rejectedLogins: number };

/**
 * A user state the replay owns and changes in place (assignable to ProjectedUser). `loginAt` and
 * `loginMs` remember the last lastLoginAt parsed, so a login parses one date, not two.
 */
export type ReplayUser = { state: MutableUnknownUser | MutableProvisionedUser; position: number; loginAt?: string | undefined; loginMs?: number | undefined };

function parsedLogin(user: ReplayUser, lastLoginAt: string): number {
  if (user.loginAt !== lastLoginAt || user.loginMs === undefined) {
    user.loginAt = lastLoginAt;
    user.loginMs = Date.parse(lastLoginAt);
  }
  return user.loginMs;
}

type GroupChange = Readonly<{ group: string; source: Grant['source'] }>;

/** Takes over a state nobody else holds (freshly parsed from storage) for in-place folding. */
export function ownedReplayUser(projected: ProjectedUser): ReplayUser {
  return projected as ReplayUser;
}

export function initialReplayUser(): ReplayUser {
  return { state: { status: 'unknown', rejectedLogins: 0 }, position: 0 };
}

/**
 * An own data property, as userState's setMembership. Assignment makes one for every key but
 * "__proto__" (Object.prototype's only accessor; all its other members are writable data
 * properties, which assignment shadows), and is much cheaper than defineProperty.
 */
function setMembership(groups: Record<string, MutableMembership>, key: string, membership: MutableMembership): void {
  if (key === '__proto__') Object.defineProperty(groups, key, { value: membership, enumerable: true, writable: true, configurable: true });
  else groups[key] = membership;
}

/** evolve's applyGrants in place: memberships are looked up and written under the group key. */
function applyGrantsInPlace(groups: Record<string, MutableMembership>, grants: readonly GroupChange[], revocations: readonly GroupChange[], at: string): void {
  for (const revocation of revocations) {
    const key = groupKey(revocation.group);
    if (!Object.hasOwn(groups, key)) continue;
    const membership = groups[key]!;
    const revoked = sourceKey(revocation.source);
    const remaining = membership.grants.filter((g) => sourceKey(g.source) !== revoked);
    if (remaining.length === 0) delete groups[key];
    else setMembership(groups, key, { ...membership, grants: remaining });
  }
  for (const grant of grants) {
    const key = groupKey(grant.group);
    const granted = { source: grant.source, grantedAt: at };
    if (!Object.hasOwn(groups, key)) {
      setMembership(groups, key, { name: grant.group, grants: [granted] });
      continue;
    }
    const membership = groups[key]!;
    const source = sourceKey(grant.source);
    if (membership.grants.some((g) => sourceKey(g.source) === source)) continue;
    membership.grants.push(granted);
  }
}

/** evolve(user.state, event), changing `user` instead of copying (the position is left to the caller). */
export function evolveInPlace(user: ReplayUser, event: EvolvableUserEvent): void {
  const { state } = user;
  const { type } = event;
  switch (type) {
    case 'UserProvisioned': {
      // Once per user: evolve builds it, from objects nobody else holds, so replay may own them.
      user.state = evolve(state, event) as MutableProvisionedUser;
      return;
    }
    case 'UserUpdated': {
      if (state.status !== 'provisioned') return;
      const { changes } = event.data;
      state.username = changes.username?.to ?? state.username;
      state.displayName = changes['display-name']?.to ?? state.displayName;
      state.email = changes.email?.to ?? state.email;
      applyGrantsInPlace(state.groups, event.data.grants, event.data.revocations, event.recordedAt);
      return;
    }
    case 'UserLoggedIn': {
      if (state.status !== 'provisioned') return;
      const at = event.data['authenticated-at'];
      const atMs = Date.parse(at);
      if (state.lastLoginAt === undefined || atMs > parsedLogin(user, state.lastLoginAt)) {
        state.lastLoginAt = at;
        user.loginAt = at;
        user.loginMs = atMs;
      }
      return;
    }
    case 'LoginRejected':
      if (state.status === 'unknown') state.rejectedLogins += 1;
      return;
    case 'UserDeactivated':
      if (state.status !== 'provisioned') return;
      state.active = false;
      state.deactivatedAt = event.recordedAt;
      return;
    case 'UserReactivated':
      if (state.status !== 'provisioned') return;
      state.active = true;
      state.deactivatedAt = undefined;
      return;
    case 'UserIdentityLinked':
      if (state.status !== 'provisioned') return;
      state.identities.push({ idpId: event.data['idp-id'], subject: event.data.subject, linkedAt: event.recordedAt });
      return;
    default: {
      const unreachable: never = type;
      throw new TypeError(`unknown user event ${String(unreachable)}`);
    }
  }
}

/** foldUser, in place: the state evolve would reach from the initial state. */
export function foldUserInPlace(events: readonly EvolvableUserEvent[]): UserState {
  const user = initialReplayUser();
  for (const event of events) evolveInPlace(user, event);
  return user.state;
}

/**
 * projectUsers in place: folds a batch onto `users` (adding users met for the first time, after
 * asking `missing` for their stored state) and calls `changed` for each user an event changed the
 * position of. Events at or below a user's position are duplicates and are skipped.
 */
export function foldBatchInPlace(
  users: Map<string, ReplayUser>,
  events: readonly RawRecordedEvent[],
  changed: (userId: string, user: ReplayUser) => void,
  missing: (userId: string) => ReplayUser | undefined = () => undefined,
): void {
  for (const event of events) {
    if (!isUserStreamEvent(event)) continue;
    const userId = userIdOfStream(event.streamId);
    let user = users.get(userId);
    if (user === undefined) {
      user = missing(userId) ?? initialReplayUser();
      users.set(userId, user);
    }
    if (event.position <= user.position) continue;
    evolveInPlace(user, event as unknown as EvolvableUserEvent);
    user.position = event.position;
    changed(userId, user);
  }
}
