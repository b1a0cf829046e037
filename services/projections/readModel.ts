/**
 * The ReadModel port: the JIT user store that the API answers from. It is a projection of the
 * user streams; the checkpoint is written in the same transaction as the rows it covers.
 */
import type { RawRecordedEvent } from '../../events/envelope.js';
import type { ProvisionedUser } from '../provisioning/user/userState.js';

export type UserListFilter = Readonly<{
  q?: string;
  idp?: string;
  active?: boolean;
  group?: string;
  provisionedAfter?: string;
  provisionedBefore?: string;
  lastLoginBefore?: string;
}>;

/** Keyset position: the sort key of the last user of the previous page. */
export type PageCursor = Readonly<{ usernameKey: string; userId: string }>;

export type UserListQuery = UserListFilter &
  Readonly<{
    start: number;
    limit: number;
    cursor?: PageCursor;
    withGroups: boolean;
  }>;

export type UserListItem = Readonly<{
  userId: string;
  username: string;
  usernameKey: string;
  displayName: string;
  email: string;
  active: boolean;
  idpId: string;
  provisionedAt: string;
  lastLoginAt: string | undefined;
  groups?: readonly string[];
}>;

export type UserListPage = Readonly<{ users: readonly UserListItem[]; total: number }>;

export interface ReadModel {
  /**
   * Applies events in log order; duplicates (already applied for that user) are skipped. The
   * projection's checkpoint becomes `checkpoint` (default: the last event's position) in the same
   * transaction, even when there are no events (a Kafka batch of parked messages).
   */
  applyEvents(events: readonly RawRecordedEvent[], projection: string, checkpoint?: number): Promise<void>;
  checkpoint(projection: string): Promise<number>;
  /**
   * A cheap token that changes whenever the rows may have changed: every applied batch moves a
   * checkpoint in the same transaction, and a replay swaps in new tables. Answers computed from
   * the model can be cached under it.
   */
  version(): Promise<string>;
  listUsers(query: UserListQuery): Promise<UserListPage>;
  /** The user's full state (groups with provenance, identities), by username (case-insensitive) or user id. */
  findUser(usernameOrId: string): Promise<ProvisionedUser | undefined>;
  /** Deletes every row and checkpoint: a fresh model. */
  reset(): Promise<void>;
}

export const LIVE_PROJECTION = 'jit-users';
