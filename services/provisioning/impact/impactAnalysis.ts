/**
 * Mapping impact analysis: for every user of an IdP, what a proposed configuration would do on
 * their next login — replaying the attributes of their last login (see shared/loginSnapshots)
 * through the same mapping and decider as a real login, against the stored user. Writes nothing.
 */
import type { IdpStored, ImpactResult } from '../../../schemas/types.gen.js';
import type { EventStore } from '../../shared/eventStore/eventStore.js';
import type { LoginSnapshots } from '../../shared/loginSnapshots/loginSnapshots.js';
import type { ReadModel } from '../../projections/readModel.js';
import { dryRunLogin } from '../login/dryRun.js';

const MAX_LISTED = 1000;

async function countIdpUsers(readModel: ReadModel, idpId: string): Promise<number> {
  return (await readModel.listUsers({ start: 0, limit: 1, withGroups: false, idp: idpId })).total;
}

export async function analyzeImpact(
  deps: { store: EventStore; readModel: ReadModel; loginSnapshots: LoginSnapshots },
  proposed: IdpStored,
  now: Date,
): Promise<ImpactResult> {
  const snapshots = await deps.loginSnapshots.forIdp(proposed.id, now);
  const outcomes = { 'would-update': 0, unchanged: 0, 'would-reject': 0, 'would-provision': 0 };
  const fields = { username: 0, 'display-name': 0, email: 0 };
  const groups = new Map<string, { group: string; added: number; removed: number }>();
  const rejections: Record<string, number> = {};
  const users: ImpactResult['users'] = [];
  const analyzed = new Set<string>();
  for (const snapshot of snapshots) {
    const current = await deps.readModel.findUser(snapshot.userId);
    if (!current) continue;
    analyzed.add(snapshot.userId);
    const result = await dryRunLogin(deps.store, proposed, { ...snapshot.login, authenticatedAt: now.toISOString() }, now);
    outcomes[result.outcome] += 1;
    if (result.reason) rejections[result.reason] = (rejections[result.reason] ?? 0) + 1;
    for (const field of ['username', 'display-name', 'email'] as const) if (result.changes?.[field]) fields[field] += 1;
    const tally = (name: string, key: 'added' | 'removed') => {
      const entry = groups.get(name.toLowerCase()) ?? { group: name, added: 0, removed: 0 };
      entry[key] += 1;
      groups.set(name.toLowerCase(), entry);
    };
    for (const group of result['groups-added'] ?? []) tally(group, 'added');
    for (const group of result['groups-removed'] ?? []) tally(group, 'removed');
    if (result.outcome !== 'unchanged' && users.length < MAX_LISTED) {
      users.push({
        username: current.username,
        'user-id': current.userId,
        outcome: result.outcome,
        ...(result.reason ? { reason: result.reason } : {}),
        ...(result.changes ? { changes: result.changes } : {}),
        ...(result['groups-added']?.length ? { 'groups-added': result['groups-added'] } : {}),
        ...(result['groups-removed']?.length ? { 'groups-removed': result['groups-removed'] } : {}),
      });
    }
  }
  const groupList = [...groups.values()].sort((a, b) => b.removed + b.added - (a.removed + a.added) || a.group.localeCompare(b.group));
  const total = await countIdpUsers(deps.readModel, proposed.id);
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  const summary = [
    ...groupList.flatMap((g) => [
      ...(g.removed > 0 ? [`this change removes ${plural(g.removed, 'user')} from group ${g.group}`] : []),
      ...(g.added > 0 ? [`this change adds ${plural(g.added, 'user')} to group ${g.group}`] : []),
    ]),
    ...Object.entries(fields).filter(([, n]) => n > 0).map(([field, n]) => `this change alters the ${field} of ${plural(n, 'user')}`),
    ...Object.entries(rejections).map(([reason, n]) => `${plural(n, 'user')} could no longer log in (${reason})`),
  ];
  return {
    'idp-id': proposed.id,
    'users-analyzed': analyzed.size,
    'users-without-attributes': Math.max(0, total - analyzed.size),
    outcomes,
    groups: groupList,
    fields,
    rejections,
    summary,
    users,
  };
}
