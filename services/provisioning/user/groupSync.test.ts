import fc from 'fast-check';
import t from 'tap';
import type { UserEvent } from '../../../events/catalogue.js';
import { eventDataProblems } from '../../../events/validate.js';
import type { GroupGrant, GroupSource } from '../../../schemas/types.gen.js';
import { planGroupSync, type GroupSyncMode, type GroupSyncPlan } from './groupSync.js';
import { groupKey, normalizeGroupName } from './normalize.js';
import { CORP, PARTNER, T0, T1, USER_ID, aliceProvisioned, fromAdditional, fromAdmin, fromIdp, recorded } from './testing/deciderSpec.js';
import { evolve, initialState, membershipOf, sourceKey, type Membership, type ProvisionedUser } from './userState.js';

type Memberships = Readonly<Record<string, Membership>>;

/** Memberships as evolve builds them from grants (keyed by group key, first spelling kept). */
function membershipsOf(grants: readonly GroupGrant[]): Memberships {
  const state = evolve(initialState(), recorded(aliceProvisioned({ groups: [], grants: [...grants] }), T0));
  if (state.status !== 'provisioned') throw new TypeError('not provisioned');
  return state.groups;
}

function updateEvent(plan: GroupSyncPlan): UserEvent {
  return {
    type: 'UserUpdated',
    data: {
      'user-id': USER_ID,
      'idp-id': CORP,
      changes: {},
      'groups-added': plan.added,
      'groups-removed': plan.removed,
      grants: plan.grants,
      revocations: plan.revocations,
    },
  };
}

/** The memberships after the plan, folded by evolve as the store would. */
function apply(memberships: Memberships, plan: GroupSyncPlan): Memberships {
  const before: ProvisionedUser = {
    status: 'provisioned',
    userId: USER_ID,
    username: 'alice',
    displayName: 'Alice',
    email: '',
    active: true,
    idpId: CORP,
    subject: 's',
    identities: [],
    groups: memberships,
    provisionedAt: T0,
    lastLoginAt: undefined,
    deactivatedAt: undefined,
  };
  const after = evolve(before, recorded(updateEvent(plan), T1));
  if (after.status !== 'provisioned') throw new TypeError('not provisioned');
  return after.groups;
}

const plan = (memberships: Memberships, mode: GroupSyncMode, asserted: readonly string[] | undefined, additional: readonly string[] = []) =>
  planGroupSync({ memberships, idpId: CORP, mode, asserted, additional });

const EMPTY_PLAN: GroupSyncPlan = { grants: [], revocations: [], added: [], removed: [] };

// -------------------------------------------------------------------------------------------
// examples
// -------------------------------------------------------------------------------------------

t.test('first sync from nothing: asserted then additional, de-duplicated case-insensitively, spelling of the first kept', async (t) => {
  t.strictSame(plan({}, 'replace', ['Developers', 'developers', ' ops ', '', '  '], ['staff', 'OPS']), {
    grants: [
      { group: 'Developers', source: fromIdp() },
      { group: 'ops', source: fromIdp() },
      { group: 'staff', source: fromAdditional() },
      { group: 'OPS', source: fromAdditional() },
    ],
    revocations: [],
    added: ['Developers', 'ops', 'staff'],
    removed: [],
  });
});

t.test('Developers vs developers is the same group and not a change, in every mode', async (t) => {
  const memberships = membershipsOf([{ group: 'Developers', source: fromIdp() }]);
  for (const mode of ['replace', 'add-only', 'managed'] as const) {
    t.strictSame(plan(memberships, mode, ['developers']), EMPTY_PLAN, mode);
    t.strictSame(plan(memberships, mode, ['ＤＥＶＥＬＯＰＥＲＳ']), EMPTY_PLAN, `${mode}, full-width`);
  }
});

t.test('a grant for an existing membership uses the stored spelling', async (t) => {
  const memberships = membershipsOf([{ group: 'Developers', source: fromAdmin() }]);
  t.strictSame(plan(memberships, 'managed', ['DEVELOPERS']), {
    grants: [{ group: 'Developers', source: fromIdp() }],
    revocations: [],
    added: [],
    removed: [],
  });
});

t.test('each mode with an admin group, another IdP group, an additional group and an IdP group', async (t) => {
  const memberships = membershipsOf([
    { group: 'developers', source: fromIdp() },
    { group: 'ops', source: fromAdmin() },
    { group: 'partners', source: fromIdp(PARTNER) },
    { group: 'partner-staff', source: fromAdditional(PARTNER) },
    { group: 'staff', source: fromAdditional() },
  ]);
  t.strictSame(
    plan(memberships, 'replace', ['qa'], ['staff']),
    {
      grants: [{ group: 'qa', source: fromIdp() }],
      revocations: [
        { group: 'developers', source: fromIdp() },
        { group: 'ops', source: fromAdmin() },
        { group: 'partners', source: fromIdp(PARTNER) },
        { group: 'partner-staff', source: fromAdditional(PARTNER) },
      ],
      added: ['qa'],
      removed: ['developers', 'ops', 'partners', 'partner-staff'],
    },
    'replace',
  );
  t.strictSame(
    plan(memberships, 'managed', ['qa'], ['staff']),
    { grants: [{ group: 'qa', source: fromIdp() }], revocations: [{ group: 'developers', source: fromIdp() }], added: ['qa'], removed: ['developers'] },
    'managed',
  );
  t.strictSame(plan(memberships, 'add-only', ['qa'], []), { grants: [{ group: 'qa', source: fromIdp() }], revocations: [], added: ['qa'], removed: [] }, 'add-only');
});

t.test('managed: a membership another source also grants stays, losing only this IdP grant', async (t) => {
  const memberships = membershipsOf([
    { group: 'developers', source: fromIdp() },
    { group: 'developers', source: fromIdp(PARTNER) },
  ]);
  const p = plan(memberships, 'managed', []);
  t.strictSame(p, { grants: [], revocations: [{ group: 'developers', source: fromIdp() }], added: [], removed: [] });
  t.strictSame(apply(memberships, p), { developers: { name: 'developers', grants: [{ source: fromIdp(PARTNER), grantedAt: T0 }] } });
});

t.test('groups unknown for the login (asserted undefined) keep the IdP groups; additional-groups still sync', async (t) => {
  const memberships = membershipsOf([
    { group: 'developers', source: fromIdp() },
    { group: 'ops', source: fromAdmin() },
    { group: 'old-staff', source: fromAdditional() },
  ]);
  for (const mode of ['replace', 'managed'] as const) {
    t.strictSame(
      plan(memberships, mode, undefined, ['staff']),
      {
        grants: [{ group: 'staff', source: fromAdditional() }],
        revocations: [{ group: 'old-staff', source: fromAdditional() }],
        added: ['staff'],
        removed: ['old-staff'],
      },
      mode,
    );
  }
  t.strictSame(plan(memberships, 'add-only', undefined, ['staff']), { grants: [{ group: 'staff', source: fromAdditional() }], revocations: [], added: ['staff'], removed: [] });
});

t.test('a group moving from asserted to additional-groups only changes provenance', async (t) => {
  const memberships = membershipsOf([{ group: 'Developers', source: fromIdp() }]);
  for (const mode of ['replace', 'managed'] as const) {
    const p = plan(memberships, mode, [], ['developers']);
    t.strictSame(p, { grants: [{ group: 'Developers', source: fromAdditional() }], revocations: [{ group: 'Developers', source: fromIdp() }], added: [], removed: [] }, mode);
    t.strictSame(apply(memberships, p), { developers: { name: 'Developers', grants: [{ source: fromAdditional(), grantedAt: T1 }] } }, `${mode}: membership kept`);
  }
  const back = membershipsOf([{ group: 'Developers', source: fromAdditional() }]);
  t.strictSame(plan(back, 'managed', ['developers'], []), {
    grants: [{ group: 'Developers', source: fromIdp() }],
    revocations: [{ group: 'Developers', source: fromAdditional() }],
    added: [],
    removed: [],
  }, 'and back from additional-groups to asserted');
});

t.test('groups named like Object.prototype members are ordinary memberships, in every mode', async (t) => {
  const names = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__'];
  t.strictSame(plan({}, 'replace', names), {
    grants: names.map((group) => ({ group, source: fromIdp() })),
    revocations: [],
    added: names,
    removed: [],
  }, 'nothing is mistaken for an existing membership');
  const memberships = apply({}, plan({}, 'replace', names));
  t.strictSame(Object.keys(memberships).sort(), [...names].map(groupKey).sort(), 'each is an own key');
  t.equal(Object.getPrototypeOf(memberships), Object.prototype, 'the "__proto__" group did not replace the prototype');
  t.equal(memberships['__proto__']?.name, '__proto__');
  for (const mode of ['replace', 'add-only', 'managed'] as const) {
    t.strictSame(plan(memberships, mode, names.map((n) => n.toUpperCase())), EMPTY_PLAN, `${mode}: the same groups again`);
  }
  t.strictSame(plan(memberships, 'replace', ['toString']), {
    grants: [],
    revocations: names.filter((n) => n !== 'toString').map((group) => ({ group, source: fromIdp() })),
    added: [],
    removed: names.filter((n) => n !== 'toString'),
  });
  const left = apply(memberships, plan(memberships, 'replace', ['toString']));
  t.strictSame(Object.keys(left), ['tostring']);
  t.same(JSON.parse(JSON.stringify(memberships)), memberships, 'memberships survive a JSON round trip (as the read model stores them)');
  t.strictSame(plan(JSON.parse(JSON.stringify(memberships)) as Memberships, 'replace', names), EMPTY_PLAN, 'and plan the same afterwards');
});

// -------------------------------------------------------------------------------------------
// properties
// -------------------------------------------------------------------------------------------

// Names of Object.prototype members are in the pool: memberships are keyed by IdP data.
const POOL = ['dev', 'Dev', 'DEV', 'ｄｅｖ', ' ops', 'Ops', 'qa', 'QA ', 'admins', 'staff', 'ß', 'SS', 'İ', 'i', 'ǅ', 'ǆ', 'Ǆ', 'ﬁle', 'file', '__proto__', 'constructor', 'Constructor', 'toString', 'hasOwnProperty'];
const anyName = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...POOL) }, { weight: 1, arbitrary: fc.string({ minLength: 0, maxLength: 4 }) });
/** Names as they are stored: normalized and not empty. */
const storedName = anyName.map(normalizeGroupName).filter((n) => n.length > 0);
const SOURCES: readonly GroupSource[] = [fromIdp(), fromIdp(PARTNER), fromAdditional(), fromAdditional(PARTNER), fromAdmin()];
const source = fc.constantFrom(...SOURCES);
const membershipsArb = fc.array(fc.record({ group: storedName, source }), { maxLength: 12 }).map(membershipsOf);
const assertedArb = fc.option(fc.array(anyName, { maxLength: 8 }), { nil: undefined });
const additionalArb = fc.array(anyName, { maxLength: 4 });
const modeArb = fc.constantFrom<GroupSyncMode>('replace', 'add-only', 'managed');

const keysOf = (m: Memberships) => new Set(Object.keys(m));
const sortedKeys = (names: Iterable<string>) => [...new Set([...names].map(groupKey))].sort();
const grantKeys = (m: Memberships) => new Set(Object.entries(m).flatMap(([key, ms]) => ms.grants.map((g) => `${key}|${sourceKey(g.source)}`)));
const sentKeys = (asserted: readonly string[] | undefined, additional: readonly string[]) =>
  sortedKeys([...(asserted ?? []), ...additional].filter((n) => normalizeGroupName(n).length > 0));
const ownedByCorp = (s: GroupSource) => s['idp-id'] === CORP && s.type !== 'admin';

const PROPERTY_RUNS = { numRuns: 500 };

t.test('property: memberships are keyed by group key (generator sanity)', async (t) => {
  fc.assert(
    fc.property(membershipsArb, (m) => Object.entries(m).every(([key, ms]) => key === groupKey(ms.name) && ms.grants.length > 0)),
    PROPERTY_RUNS,
  );
  t.pass('every membership key is the group key of its name');
});

t.test('property: replace leaves exactly the sent groups (asserted ∪ additional, case-insensitive)', async (t) => {
  fc.assert(
    fc.property(membershipsArb, fc.array(anyName, { maxLength: 8 }), additionalArb, (memberships, asserted, additional) => {
      const after = apply(memberships, plan(memberships, 'replace', asserted, additional));
      return JSON.stringify([...keysOf(after)].sort()) === JSON.stringify(sentKeys(asserted, additional));
    }),
    PROPERTY_RUNS,
  );
  t.pass('replace keeps exactly the sent groups');
});

t.test('property: add-only never loses a membership or a grant', async (t) => {
  fc.assert(
    fc.property(membershipsArb, assertedArb, additionalArb, (memberships, asserted, additional) => {
      const p = plan(memberships, 'add-only', asserted, additional);
      const after = apply(memberships, p);
      const lostGrant = [...grantKeys(memberships)].some((k) => !grantKeys(after).has(k));
      return p.revocations.length === 0 && p.removed.length === 0 && !lostGrant;
    }),
    PROPERTY_RUNS,
  );
  t.pass('add-only keeps every grant');
});

t.test('property: managed never takes away a grant it does not own (admin, other IdPs)', async (t) => {
  fc.assert(
    fc.property(membershipsArb, assertedArb, additionalArb, (memberships, asserted, additional) => {
      const after = apply(memberships, plan(memberships, 'managed', asserted, additional));
      return Object.entries(memberships).every(([key, m]) =>
        m.grants.filter((g) => !ownedByCorp(g.source)).every((g) => after[key]?.grants.some((a) => sourceKey(a.source) === sourceKey(g.source))),
      );
    }),
    PROPERTY_RUNS,
  );
  t.pass('admin and foreign grants survive managed sync');
});

t.test('property: asserted undefined never touches the IdP-asserted grants, in any mode', async (t) => {
  fc.assert(
    fc.property(membershipsArb, additionalArb, modeArb, (memberships, additional, mode) => {
      const p = plan(memberships, mode, undefined, additional);
      return p.revocations.every((r) => r.source.type === 'additional-groups' && r.source['idp-id'] === CORP);
    }),
    PROPERTY_RUNS,
  );
  t.pass('only this IdP additional-groups can be revoked when groups are unknown');
});

t.test('property: every desired grant is present after the sync, in every mode', async (t) => {
  fc.assert(
    fc.property(membershipsArb, assertedArb, additionalArb, modeArb, (memberships, asserted, additional, mode) => {
      const after = grantKeys(apply(memberships, plan(memberships, mode, asserted, additional)));
      const want = [
        ...(asserted ?? []).filter((n) => normalizeGroupName(n)).map((n) => `${groupKey(n)}|${sourceKey(fromIdp())}`),
        ...additional.filter((n) => normalizeGroupName(n)).map((n) => `${groupKey(n)}|${sourceKey(fromAdditional())}`),
      ];
      return want.every((k) => after.has(k));
    }),
    PROPERTY_RUNS,
  );
  t.pass('desired grants are all granted');
});

t.test('property: added/removed match the membership sets before and after; grants/revocations are minimal', async (t) => {
  fc.assert(
    fc.property(membershipsArb, assertedArb, additionalArb, modeArb, (memberships, asserted, additional, mode) => {
      const p = plan(memberships, mode, asserted, additional);
      const after = apply(memberships, p);
      const before = keysOf(memberships);
      const now = keysOf(after);
      const addedKeys = p.added.map(groupKey);
      const removedKeys = p.removed.map(groupKey);
      const beforeGrants = grantKeys(memberships);
      return (
        JSON.stringify([...addedKeys].sort()) === JSON.stringify([...now].filter((k) => !before.has(k)).sort()) &&
        new Set(addedKeys).size === addedKeys.length &&
        JSON.stringify([...removedKeys].sort()) === JSON.stringify([...before].filter((k) => !now.has(k)).sort()) &&
        // a grant is only planned when it is new, a revocation only for a grant that exists
        p.grants.every((g) => !beforeGrants.has(`${groupKey(g.group)}|${sourceKey(g.source)}`)) &&
        p.revocations.every((r) => beforeGrants.has(`${groupKey(r.group)}|${sourceKey(r.source)}`)) &&
        // a group's stored spelling is used for memberships that exist
        p.grants.every((g) => membershipOf(memberships, g.group) === undefined || membershipOf(memberships, g.group)?.name === g.group) &&
        p.removed.every((name) => membershipOf(memberships, name)?.name === name)
      );
    }),
    PROPERTY_RUNS,
  );
  t.pass('added and removed are consistent');
});

t.test('property: the same login twice yields an empty second plan (idempotence)', async (t) => {
  fc.assert(
    fc.property(membershipsArb, assertedArb, additionalArb, modeArb, (memberships, asserted, additional, mode) => {
      const after = apply(memberships, plan(memberships, mode, asserted, additional));
      const second = plan(after, mode, asserted, additional);
      return JSON.stringify(second) === JSON.stringify(EMPTY_PLAN);
    }),
    PROPERTY_RUNS,
  );
  t.pass('a repeated login changes no group');
});

t.test('property: the planned UserUpdated is schema-valid', async (t) => {
  fc.assert(
    fc.property(membershipsArb, assertedArb, additionalArb, modeArb, (memberships, asserted, additional, mode) => {
      const event = updateEvent(plan(memberships, mode, asserted, additional));
      return eventDataProblems(event.type, event.data).length === 0;
    }),
    PROPERTY_RUNS,
  );
  t.pass('events validate');
});
