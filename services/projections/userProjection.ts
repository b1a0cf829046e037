/**
 * How user events become read-model rows. The projection reuses the aggregate's own evolve, so the
 * read model can never disagree with what the decider saw; rows keep the folded state as JSON.
 */
import { USER_STREAM_PREFIX, isUserEventType } from '../../events/catalogue.js';
import type { RawRecordedEvent } from '../../events/envelope.js';
import { evolve, initialState, type EvolvableUserEvent, type ProvisionedUser, type UserState } from '../provisioning/user/userState.js';

export type ProjectedUser = { state: UserState; position: number };

export function isUserStreamEvent(event: RawRecordedEvent): boolean {
  return event.streamId.startsWith(USER_STREAM_PREFIX) && isUserEventType(event.type);
}

export function userIdOfStream(streamId: string): string {
  return streamId.slice(USER_STREAM_PREFIX.length);
}

/**
 * Folds a batch onto the users it touches. `load` gives the stored state of a user (once per user
 * per batch); events at or below a user's stored position are duplicates and are skipped.
 */
export function projectUsers(
  events: readonly RawRecordedEvent[],
  load: (userId: string) => ProjectedUser | undefined,
): Map<string, ProjectedUser> {
  const touched = new Map<string, ProjectedUser>();
  for (const event of events) {
    if (!isUserStreamEvent(event)) continue;
    const userId = userIdOfStream(event.streamId);
    const current = touched.get(userId) ?? load(userId) ?? { state: initialState(), position: 0 };
    if (event.position <= current.position) continue;
    touched.set(userId, { state: evolve(current.state, event as unknown as EvolvableUserEvent), position: event.position });
  }
  return touched;
}

/** A state the database driver already parsed from JSON (PostgreSQL JSONB): a fresh object, used as is. */
export function stateFromParsedJson(value: unknown): ProvisionedUser {
  return value as ProvisionedUser;
}

/**
 * Which of a user's rows besides the user row a batch must rewrite. evolve hands the memberships
 * and identities on unchanged (the same objects) when an event does not touch them, so a login
 * that only moves lastLoginAt rewrites neither. `before` is the state as loaded before the batch.
 */
export function changedParts(before: UserState | undefined, after: ProvisionedUser): { groups: boolean; identities: boolean } {
  if (before?.status !== 'provisioned') return { groups: true, identities: true };
  return { groups: before.groups !== after.groups, identities: before.identities !== after.identities };
}
