/**
 * Administrator commands on a user (deactivate, reactivate, grant or revoke a group): read, fold,
 * decide, append with the expected revision, retry on a conflict.
 */
import { userStreamId, type UserEvent } from '../../../events/catalogue.js';
import type { RecordedEvent } from '../../../events/envelope.js';
import { ServiceError } from '../../shared/errors.js';
import { WrongExpectedRevisionError, type EventStore } from '../../shared/eventStore/eventStore.js';
import { UserStateError, type DeactivateUser, type GrantGroup, type ReactivateUser, type RevokeGroup } from '../user/commands.js';
import { decide } from '../user/decide.js';
import { evolve, initialState, type EvolvableUserEvent, type ProvisionedUser, type UserState } from '../user/userState.js';

export type AdminUserCommand = DeactivateUser | ReactivateUser | GrantGroup | RevokeGroup;

export async function runAdminUserCommand(
  deps: { store: EventStore; newId: () => string },
  userId: string,
  command: AdminUserCommand,
  context: { actor: string; correlationId: string },
): Promise<{ user: ProvisionedUser; lastPosition: number | undefined }> {
  const streamId = userStreamId(userId);
  for (let attempt = 0; attempt < 5; attempt++) {
    const events = (await deps.store.readStream(streamId)) as RecordedEvent<UserEvent>[];
    const state = events.reduce<UserState>((s, e) => evolve(s, e as EvolvableUserEvent), initialState());
    let decided: UserEvent[];
    try {
      decided = decide(command, state);
    } catch (error) {
      if (error instanceof UserStateError) {
        throw new ServiceError(error.code === 'user-not-found' ? 'user-not-found' : 'invalid-request', error.message, { cause: error });
      }
      throw error;
    }
    if (state.status !== 'provisioned') throw new ServiceError('user-not-found');
    if (decided.length === 0) return { user: state, lastPosition: undefined };
    try {
      const result = await deps.store.appendToStream(
        streamId,
        decided.map((event) => ({ ...event, eventId: deps.newId(), metadata: { correlationId: context.correlationId, actor: context.actor, schemaVersion: 1 } })),
        { expectedRevision: events.at(-1)?.revision ?? 'no-stream' },
      );
      const after = result.records.reduce<UserState>((s, e) => evolve(s, e as RecordedEvent<UserEvent> as EvolvableUserEvent), state);
      return { user: after as ProvisionedUser, lastPosition: result.lastPosition };
    } catch (error) {
      if (error instanceof WrongExpectedRevisionError) continue;
      throw error;
    }
  }
  throw new ServiceError('conflict');
}
