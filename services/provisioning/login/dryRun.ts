/**
 * The JIT dry run: what a sample login would do to the stored user, computed with the same mapping
 * and decider as a real login, without writing anything.
 */
import type { IdpStored, JitTestResult, LoginSucceeded, Problem } from '../../../schemas/types.gen.js';
import { userStreamId, type UserEvent } from '../../../events/catalogue.js';
import type { RecordedEvent } from '../../../events/envelope.js';
import type { EventStore } from '../../shared/eventStore/eventStore.js';
import { identityKey, userIdOf } from '../../shared/ids.js';
import { decide, jitSettings } from '../user/decide.js';
import { usernameKey, uniqueGroups } from '../user/normalize.js';
import { evolve, initialState, type EvolvableUserEvent, type UserState } from '../user/userState.js';
import { mapLogin } from './mapLogin.js';

async function stateOf(store: EventStore, userId: string): Promise<UserState> {
  const events = (await store.readStream(userStreamId(userId))) as RecordedEvent<UserEvent>[];
  return events.reduce<UserState>((s, e) => evolve(s, e as EvolvableUserEvent), initialState());
}

export async function dryRunLogin(store: EventStore, idp: IdpStored, login: LoginSucceeded, now: Date): Promise<JitTestResult> {
  const mapped = mapLogin(idp, login);
  const ownId = (await store.findClaim('identity', identityKey(idp.id, login.subject))) ?? userIdOf(idp.id, login.subject);
  let userId = ownId;
  let state = await stateOf(store, ownId);
  const usernameOwner = mapped.ok && mapped.username.kind === 'value' ? await store.findClaim('username', usernameKey(mapped.username.value)) : undefined;
  let link = false;
  if (state.status === 'unknown' && usernameOwner !== undefined && usernameOwner !== ownId && jitSettings(idp)['link-existing-users']) {
    const owner = await stateOf(store, usernameOwner);
    if (owner.status === 'provisioned') {
      userId = usernameOwner;
      state = owner;
      link = true;
    }
  }
  const events = decide(
    { type: 'HandleLogin', data: { login, idp, mapped, userId, usernameOwner, link }, metadata: { now: now.toISOString() } },
    state,
  );
  const user = mapped.ok
    ? {
        'user-id': userId,
        username: mapped.username.kind === 'value' ? mapped.username.value : state.status === 'provisioned' ? state.username : '',
        'display-name': mapped.displayName.kind === 'value' ? mapped.displayName.value : state.status === 'provisioned' ? state.displayName : '',
        email: mapped.email.kind === 'value' ? mapped.email.value : state.status === 'provisioned' ? state.email : '',
        groups: mapped.groups.kind === 'value' ? uniqueGroups(mapped.groups.groups) : [],
      }
    : undefined;
  const base = user ? { user } : {};
  const rejected = events.find((e) => e.type === 'LoginRejected');
  if (rejected) {
    const problems: Problem[] = [...rejected.data.problems];
    if (problems.length === 0) problems.push({ code: rejected.data.reason, message: rejected.data.message });
    return { outcome: 'would-reject', reason: rejected.data.reason, ...base, problems };
  }
  const provisioned = events.find((e) => e.type === 'UserProvisioned');
  if (provisioned) {
    return { outcome: 'would-provision', ...base, 'groups-added': provisioned.data.groups, 'groups-removed': [], problems: [] };
  }
  const updated = events.find((e) => e.type === 'UserUpdated');
  if (updated) {
    return {
      outcome: 'would-update',
      ...base,
      changes: updated.data.changes,
      'groups-added': updated.data['groups-added'],
      'groups-removed': updated.data['groups-removed'],
      problems: [],
    };
  }
  return { outcome: events.some((e) => e.type === 'UserIdentityLinked') ? 'would-update' : 'unchanged', ...base, problems: [] };
}
