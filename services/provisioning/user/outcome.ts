/**
 * What a login's events mean for the caller: the outcome answered by POST /logins and the gateway.
 */
import type { UserEvent } from '../../../events/catalogue.js';
import type { Problem, RejectionReason } from '../../../schemas/types.gen.js';
import { groupNames, type ProvisionedUser } from './userState.js';

export type UserView = {
  'user-id': string;
  username: string;
  'display-name': string;
  email: string;
  groups: string[];
  active: boolean;
};

export type LoginOutcome =
  | Readonly<{ outcome: 'provisioned' | 'updated' | 'unchanged'; userId: string; user: UserView }>
  | Readonly<{ outcome: 'rejected'; userId: string | undefined; reason: RejectionReason; message: string; problems: readonly Problem[] }>;

export function toUserView(user: ProvisionedUser): UserView {
  return {
    'user-id': user.userId,
    username: user.username,
    'display-name': user.displayName,
    email: user.email,
    groups: groupNames(user),
    active: user.active,
  };
}

/** Reads the outcome off the events one login produced, given the state after them. */
export function outcomeOf(events: readonly UserEvent[], after: ProvisionedUser | undefined): LoginOutcome {
  const rejected = events.find((e) => e.type === 'LoginRejected');
  if (rejected) {
    return {
      outcome: 'rejected',
      userId: rejected.data['user-id'],
      reason: rejected.data.reason,
      message: rejected.data.message,
      problems: rejected.data.problems,
    };
  }
  if (!after) throw new TypeError('a successful login needs the resulting user');
  const outcome = events.some((e) => e.type === 'UserProvisioned')
    ? 'provisioned'
    : events.some((e) => e.type === 'UserUpdated' || e.type === 'UserIdentityLinked')
      ? 'updated'
      : 'unchanged';
  return { outcome, userId: after.userId, user: toUserView(after) };
}
