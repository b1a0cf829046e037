/**
 * The inactivity policy: per IdP, `deactivate-after-days` deactivates users of that IdP who have
 * not logged in (or, never having logged in, were provisioned) for that long. Preview lists them;
 * run deactivates them with UserDeactivated (reason inactive). Running twice changes nothing more,
 * and a user who logs in between preview and run stays active (the decider re-checks).
 */
import type { IdpStored, InactiveUser, InactivityResult } from '../../../schemas/types.gen.js';
import { ServiceError } from '../../shared/errors.js';
import type { EventStore } from '../../shared/eventStore/eventStore.js';
import type { ReadModel, UserListItem } from '../../projections/readModel.js';
import { runAdminUserCommand } from '../admin/userCommands.js';
import type { IdpDirectory } from '../idps/idpDirectory.js';

const DAY = 86_400_000;

type Policy = { idp: IdpStored; days: number; inactiveSince: Date };

function policies(idps: IdpDirectory, now: Date, idpId: string | undefined): Policy[] {
  const selected = idpId === undefined ? idps.list() : [idps.get(idpId) ?? missing(idpId)];
  return selected.flatMap((idp) => {
    const days = idp['jit-configuration']['deactivate-after-days'];
    return days === undefined ? [] : [{ idp, days, inactiveSince: new Date(now.getTime() - days * DAY) }];
  });
}

function missing(idpId: string): never {
  throw new ServiceError('idp-not-found', `No IdP with id ${idpId}`);
}

async function candidates(readModel: ReadModel, policy: Policy): Promise<UserListItem[]> {
  const since = policy.inactiveSince.toISOString();
  const found: UserListItem[] = [];
  let cursor: { usernameKey: string; userId: string } | undefined;
  for (;;) {
    const page = await readModel.listUsers({
      start: 0,
      limit: 5000,
      withGroups: false,
      idp: policy.idp.id,
      active: true,
      lastLoginBefore: since,
      provisionedBefore: since,
      ...(cursor ? { cursor } : {}),
    });
    found.push(...page.users);
    const last = page.users.at(-1);
    if (!last || page.users.length < 5000) return found;
    cursor = { usernameKey: last.usernameKey, userId: last.userId };
  }
}

function describe(user: UserListItem, policy: Policy, now: Date): InactiveUser {
  const lastSeen = user.lastLoginAt ?? user.provisionedAt;
  return {
    username: user.username,
    'user-id': user.userId,
    'idp-id': user.idpId,
    ...(user.lastLoginAt ? { 'last-login-at': user.lastLoginAt } : {}),
    'last-seen-at': lastSeen,
    'inactive-days': Math.floor((now.getTime() - Date.parse(lastSeen)) / DAY),
    'deactivate-after-days': policy.days,
  };
}

export type InactivityDeps = Readonly<{ store: EventStore; readModel: ReadModel; idps: IdpDirectory; newId: () => string }>;

export async function previewInactivity(deps: InactivityDeps, now: Date, idpId?: string): Promise<InactivityResult> {
  const applied = policies(deps.idps, now, idpId);
  const users: InactiveUser[] = [];
  for (const policy of applied) users.push(...(await candidates(deps.readModel, policy)).map((u) => describe(u, policy, now)));
  return { 'as-of': now.toISOString(), policies: applied.map(toPolicyView), users, total: users.length };
}

export async function runInactivity(
  deps: InactivityDeps,
  now: Date,
  context: { actor: string; correlationId: string },
  idpId?: string,
): Promise<InactivityResult & { lastPosition: number | undefined }> {
  const applied = policies(deps.idps, now, idpId);
  const users: InactiveUser[] = [];
  let lastPosition: number | undefined;
  for (const policy of applied) {
    for (const user of await candidates(deps.readModel, policy)) {
      const result = await runAdminUserCommand(
        deps,
        user.userId,
        { type: 'DeactivateUser', data: { reason: 'inactive', inactiveSince: policy.inactiveSince.toISOString(), comment: `not seen for ${policy.days} days` }, metadata: { now: now.toISOString() } },
        context,
      );
      if (result.lastPosition !== undefined) {
        lastPosition = result.lastPosition;
        users.push(describe(user, policy, now));
      }
    }
  }
  return { 'as-of': now.toISOString(), policies: applied.map(toPolicyView), users, total: users.length, lastPosition };
}

function toPolicyView(policy: Policy) {
  return { 'idp-id': policy.idp.id, 'deactivate-after-days': policy.days, 'inactive-since': policy.inactiveSince.toISOString() };
}
