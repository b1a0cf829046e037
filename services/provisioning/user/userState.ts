/**
 * The User aggregate's state and evolve: a pure fold of the user stream. A stream that only holds
 * rejected logins belongs to an identity that was never provisioned (status 'unknown').
 */
import type { UserEvent } from '../../../events/catalogue.js';
import type { GroupSource } from '../../../schemas/types.gen.js';
import { groupKey } from './normalize.js';

export type Grant = Readonly<{ source: GroupSource; grantedAt: string }>;
export type Membership = Readonly<{ name: string; grants: readonly Grant[] }>;
export type Identity = Readonly<{ idpId: string; subject: string; linkedAt: string }>;

export type UnknownUser = Readonly<{ status: 'unknown'; rejectedLogins: number }>;

export type ProvisionedUser = Readonly<{
  status: 'provisioned';
  userId: string;
  username: string;
  displayName: string;
  email: string;
  active: boolean;
  /** The IdP that provisioned the user. */
  idpId: string;
  subject: string;
  identities: readonly Identity[];
  /** Memberships by group key (case-insensitive). */
  groups: Readonly<Record<string, Membership>>;
  provisionedAt: string;
  lastLoginAt: string | undefined;
  deactivatedAt: string | undefined;
}>;

export type UserState = UnknownUser | ProvisionedUser;

/** An event as evolve sees it: the store's recordedAt gives grants their time. */
export type EvolvableUserEvent = UserEvent & { readonly recordedAt: string };

export function initialState(): UserState {
  return { status: 'unknown', rejectedLogins: 0 };
}

export function sourceKey(source: GroupSource): string {
  return `${source.type}:${source['idp-id'] ?? ''}`;
}

/**
 * The membership of a group, by name or key. Group names are data from the IdP, so a name such as
 * "constructor" or "__proto__" must never reach an inherited member of the map: own properties only.
 */
export function membershipOf(groups: Readonly<Record<string, Membership>>, group: string): Membership | undefined {
  return membershipAt(groups, groupKey(group));
}

/** The membership stored under a group key (already computed), own properties only. */
export function membershipAt(groups: Readonly<Record<string, Membership>>, key: string): Membership | undefined {
  return Object.hasOwn(groups, key) ? groups[key] : undefined;
}

/** Sets an own property even for the key "__proto__", which plain assignment would treat as the prototype. */
function setMembership(groups: Record<string, Membership>, key: string, membership: Membership): void {
  Object.defineProperty(groups, key, { value: membership, enumerable: true, writable: true, configurable: true });
}

function applyGrants(
  groups: Readonly<Record<string, Membership>>,
  grants: readonly { group: string; source: GroupSource }[],
  revocations: readonly { group: string; source: GroupSource }[],
  at: string,
): Readonly<Record<string, Membership>> {
  // Nothing to apply: the same object, so that whoever compares states (the read models) sees the
  // memberships did not change.
  if (grants.length === 0 && revocations.length === 0) return groups;
  // Spread copies own properties as data properties, "__proto__" included.
  const next: Record<string, Membership> = { ...groups };
  for (const revocation of revocations) {
    const key = groupKey(revocation.group);
    const membership = membershipAt(next, key);
    if (!membership) continue;
    const remaining = membership.grants.filter((g) => sourceKey(g.source) !== sourceKey(revocation.source));
    if (remaining.length === 0) delete next[key];
    else setMembership(next, key, { ...membership, grants: remaining });
  }
  for (const grant of grants) {
    const key = groupKey(grant.group);
    const membership = membershipAt(next, key) ?? { name: grant.group, grants: [] };
    if (membership.grants.some((g) => sourceKey(g.source) === sourceKey(grant.source))) continue;
    setMembership(next, key, { ...membership, grants: [...membership.grants, { source: grant.source, grantedAt: at }] });
  }
  return next;
}

export function evolve(state: UserState, event: EvolvableUserEvent): UserState {
  const { type } = event;
  switch (type) {
    case 'UserProvisioned': {
      const d = event.data;
      return {
        status: 'provisioned',
        userId: d['user-id'],
        username: d.username,
        displayName: d['display-name'],
        email: d.email,
        active: true,
        idpId: d['idp-id'],
        subject: d.subject,
        identities: [{ idpId: d['idp-id'], subject: d.subject, linkedAt: event.recordedAt }],
        groups: applyGrants({}, d.grants, [], event.recordedAt),
        provisionedAt: event.recordedAt,
        lastLoginAt: undefined,
        deactivatedAt: undefined,
      };
    }
    case 'UserUpdated': {
      if (state.status !== 'provisioned') return state;
      const { changes } = event.data;
      return {
        ...state,
        username: changes.username?.to ?? state.username,
        displayName: changes['display-name']?.to ?? state.displayName,
        email: changes.email?.to ?? state.email,
        groups: applyGrants(state.groups, event.data.grants, event.data.revocations, event.recordedAt),
      };
    }
    case 'UserLoggedIn': {
      if (state.status !== 'provisioned') return state;
      // Logins can arrive out of order (a gateway's retry, a Kafka backlog): keep the latest.
      const at = event.data['authenticated-at'];
      const later = state.lastLoginAt === undefined || Date.parse(at) > Date.parse(state.lastLoginAt);
      return later ? { ...state, lastLoginAt: at } : state;
    }
    case 'LoginRejected':
      return state.status === 'unknown' ? { ...state, rejectedLogins: state.rejectedLogins + 1 } : state;
    case 'UserDeactivated':
      return state.status === 'provisioned' ? { ...state, active: false, deactivatedAt: event.recordedAt } : state;
    case 'UserReactivated':
      return state.status === 'provisioned' ? { ...state, active: true, deactivatedAt: undefined } : state;
    case 'UserIdentityLinked': {
      if (state.status !== 'provisioned') return state;
      const identity = { idpId: event.data['idp-id'], subject: event.data.subject, linkedAt: event.recordedAt };
      return { ...state, identities: [...state.identities, identity] };
    }
    default: {
      const unreachable: never = type;
      throw new TypeError(`unknown user event ${String(unreachable)}`);
    }
  }
}

export function foldUser(events: readonly EvolvableUserEvent[]): UserState {
  return events.reduce(evolve, initialState());
}

/** Group names of a user's memberships, sorted for stable answers. */
export function groupNames(state: ProvisionedUser): string[] {
  return Object.values(state.groups)
    .map((m) => m.name)
    .sort((a, b) => a.localeCompare(b, 'en'));
}
