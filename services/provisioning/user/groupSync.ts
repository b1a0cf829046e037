/**
 * The group-sync rule: which memberships a login grants and which it ends.
 *
 * - replace (Atlassian): the user leaves every group this login did not send (asserted groups plus
 *   the IdP's additional-groups), whoever granted it.
 * - add-only: groups are only ever added.
 * - managed: only grants this IdP made earlier are withdrawn; a membership another source (an
 *   admin, another IdP) also grants stays.
 *
 * `asserted` undefined means the IdP's groups are not known for this login (attribute missing with
 * on-missing-attribute=keep, or no groups mapping): memberships it asserted earlier are left alone.
 */
import type { GroupGrant, GroupSource } from '../../../schemas/types.gen.js';
import { groupKey, uniqueGroups } from './normalize.js';
import { membershipAt, membershipOf, sourceKey, type Membership } from './userState.js';

export type GroupSyncMode = 'replace' | 'add-only' | 'managed';

export type GroupSyncPlan = {
  grants: GroupGrant[];
  revocations: GroupGrant[];
  added: string[];
  removed: string[];
};

export function planGroupSync(input: {
  memberships: Readonly<Record<string, Membership>>;
  idpId: string;
  mode: GroupSyncMode;
  asserted: readonly string[] | undefined;
  additional: readonly string[];
}): GroupSyncPlan {
  const { memberships, idpId, mode } = input;
  const fromIdp: GroupSource = { type: 'idp', 'idp-id': idpId };
  const fromAdditional: GroupSource = { type: 'additional-groups', 'idp-id': idpId };
  const desired: GroupGrant[] = [
    ...uniqueGroups(input.asserted ?? []).map((group) => ({ group, source: fromIdp })),
    ...uniqueGroups(input.additional).map((group) => ({ group, source: fromAdditional })),
  ];
  const desiredKeys = new Set(desired.map((g) => `${groupKey(g.group)}|${sourceKey(g.source)}`));
  const sentGroups = new Set(desired.map((g) => groupKey(g.group)));
  const isDesired = (key: string, source: GroupSource) => desiredKeys.has(`${key}|${sourceKey(source)}`);
  const ownedByThisIdp = (source: GroupSource) =>
    source['idp-id'] === idpId && (source.type === 'additional-groups' || (source.type === 'idp' && input.asserted !== undefined));

  const grants: GroupGrant[] = [];
  for (const grant of desired) {
    const membership = membershipOf(memberships, grant.group);
    if (membership?.grants.some((g) => sourceKey(g.source) === sourceKey(grant.source))) continue;
    grants.push({ group: membership?.name ?? grant.group, source: grant.source });
  }

  const revocations: GroupGrant[] = [];
  for (const [key, membership] of Object.entries(memberships)) {
    for (const { source } of membership.grants) {
      if (isDesired(key, source)) continue;
      const leaves =
        mode === 'replace'
          ? input.asserted === undefined
            ? ownedByThisIdp(source)
            : !sentGroups.has(key) || ownedByThisIdp(source)
          : mode === 'managed'
            ? ownedByThisIdp(source)
            : false;
      if (leaves) revocations.push({ group: membership.name, source });
    }
  }

  // Sets keep this linear: IdPs such as Entra can send thousands of groups.
  const grantedKeys = new Set<string>();
  const added: string[] = [];
  for (const grant of grants) {
    const key = groupKey(grant.group);
    if (!membershipAt(memberships, key) && !grantedKeys.has(key)) added.push(grant.group);
    grantedKeys.add(key);
  }
  const revoked = new Set(revocations.map((r) => `${groupKey(r.group)}|${sourceKey(r.source)}`));
  const removed = Object.entries(memberships)
    .filter(([key, m]) => !grantedKeys.has(key) && m.grants.every((g) => revoked.has(`${key}|${sourceKey(g.source)}`)))
    .map(([, m]) => m.name);
  return { grants, revocations, added, removed };
}
