/**
 * The replay's in-place fold against the aggregate's own evolve: for random user logs (group
 * grants and revocations from several sources, case-only renames, deactivation, identity links,
 * logins out of order, rejected logins, group names like Object.prototype members or whose key
 * changes when normalized twice), the in-place result must be exactly the state foldUser reaches:
 * same values, same key order, memberships as own properties of a plain object.
 */
import { inspect, isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import t from 'tap';
import type { UserEvent } from '../../events/catalogue.js';
import type { RawRecordedEvent } from '../../events/envelope.js';
import type { GroupSource } from '../../schemas/types.gen.js';
import { evolve, foldUser, type EvolvableUserEvent, type UserState } from '../provisioning/user/userState.js';
import { groupKey } from '../provisioning/user/normalize.js';
import { evolveInPlace, foldBatchInPlace, foldUserInPlace, initialReplayUser, ownedReplayUser, type ReplayUser } from './replayFold.js';
import { projectUsers, type ProjectedUser } from './userProjection.js';

const PROPERTY_RUNS = { numRuns: 400, seed: 20_260_101 };
const USER = '6c0f4f3e-1b7a-5d2e-9a41-0c6b1e2f3a4b';
const OTHER = '9d3b2a10-44c1-5e6f-8b7a-112233445566';

/** "H" + combining macron below: its group key ("ẖ") normalizes again to "ẖ", so a lookup by key finds another key. */
const UNSTABLE_KEY = 'H\u0331';
const GROUP_NAMES = [
  'Developers', 'developers', 'DEVELOPERS', ' staff ', 'staff', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf',
  '__defineGetter__', '123', '7', 'K', '\u212a', 'ß', 'İ', UNSTABLE_KEY, 'h\u0331', '\u1e96', 'ﬁnance', 'finance',
];
const SOURCES: GroupSource[] = [
  { type: 'idp', 'idp-id': 'corp' },
  { type: 'idp', 'idp-id': 'partner' },
  { type: 'additional-groups', 'idp-id': 'corp' },
  { type: 'admin' },
];

const changeArb = fc.record({ group: fc.constantFrom(...GROUP_NAMES), source: fc.constantFrom(...SOURCES) });
const changesArb = fc.array(changeArb, { maxLength: 5 });
const nameArb = fc.constantFrom('alice', 'Alice', 'ALICE', 'bob', 'Bob', 'ǅemal', 'ǆemal');
const timeArb = fc.integer({ min: 0, max: 1000 }).map((s) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString());

const provisionedArb = fc.record({ username: nameArb, grants: changesArb, idp: fc.constantFrom('corp', 'partner') }).map(
  ({ username, grants, idp }): UserEvent => ({
    type: 'UserProvisioned',
    data: {
      'user-id': USER,
      'idp-id': idp,
      subject: `${username}-subject`,
      username,
      'display-name': `${username} display`,
      email: `${username}@example.com`,
      groups: grants.map((g) => g.group),
      grants,
      'login-id': 'l',
    },
  }),
);

const updatedArb = fc
  .record({ username: fc.option(nameArb), displayName: fc.option(nameArb), email: fc.option(nameArb), grants: changesArb, revocations: changesArb })
  .map(
    ({ username, displayName, email, grants, revocations }): UserEvent => ({
      type: 'UserUpdated',
      data: {
        'user-id': USER,
        changes: {
          ...(username === null ? {} : { username: { from: 'x', to: username } }),
          ...(displayName === null ? {} : { 'display-name': { from: 'x', to: `${displayName} display` } }),
          ...(email === null ? {} : { email: { from: 'x', to: `${email}@example.org` } }),
        },
        'groups-added': grants.map((g) => g.group),
        'groups-removed': revocations.map((g) => g.group),
        grants,
        revocations,
      },
    }),
  );

const eventArb: fc.Arbitrary<UserEvent> = fc.oneof(
  provisionedArb,
  updatedArb,
  timeArb.map((at): UserEvent => ({ type: 'UserLoggedIn', data: { 'user-id': USER, 'idp-id': 'corp', subject: 's', protocol: 'saml', 'login-id': 'l', 'authenticated-at': at } })),
  fc.constant<UserEvent>({ type: 'LoginRejected', data: { 'idp-id': 'corp', reason: 'provisioning-disabled', message: 'no', problems: [] } }),
  fc.constantFrom<UserEvent>({ type: 'UserDeactivated', data: { 'user-id': USER, reason: 'admin' } }, { type: 'UserDeactivated', data: { 'user-id': USER, reason: 'inactive' } }),
  fc.constant<UserEvent>({ type: 'UserReactivated', data: { 'user-id': USER } }),
  fc.constantFrom('corp', 'partner', 'other').map((idp): UserEvent => ({ type: 'UserIdentityLinked', data: { 'user-id': USER, 'idp-id': idp, subject: `${idp}-subject`, username: 'alice', 'login-id': 'l' } })),
);

const logArb = fc.array(fc.tuple(eventArb, timeArb), { maxLength: 30 }).map((pairs) => pairs.map(([event, at]): EvolvableUserEvent => ({ ...event, recordedAt: at })));

/** Equal as evolve's result: structure and prototypes, printed form, and serialized key order. */
function sameState(actual: unknown, expected: unknown): boolean {
  return isDeepStrictEqual(actual, expected) && inspect(actual, { depth: null }) === inspect(expected, { depth: null }) && JSON.stringify(actual) === JSON.stringify(expected);
}

function assertSame(actual: unknown, expected: unknown, what: string): void {
  if (!sameState(actual, expected)) throw new Error(`${what}: in place ${inspect(actual, { depth: null })}\nevolve ${inspect(expected, { depth: null })}`);
}

/** The state a JSON round trip gives (what the fallback path reads back from the fresh tables). */
const stored = (state: UserState): UserState => JSON.parse(JSON.stringify(state)) as UserState;

t.test('property: foldUserInPlace reaches exactly the state foldUser does', async (t) => {
  let checked = 0;
  fc.assert(
    fc.property(logArb, (log) => {
      assertSame(foldUserInPlace(log), foldUser(log), 'fold');
      checked += 1;
    }),
    PROPERTY_RUNS,
  );
  t.equal(checked, PROPERTY_RUNS.numRuns, `${checked} random logs folded the same`);
});

t.test('property: continuing from a stored state, in place equals evolve', async (t) => {
  let checked = 0;
  fc.assert(
    fc.property(logArb, logArb, (before, after) => {
      const start = stored(foldUser(before));
      const expected = after.reduce(evolve, stored(start));
      const user = ownedReplayUser({ state: stored(start), position: 0 });
      for (const event of after) evolveInPlace(user, event);
      assertSame(user.state, expected, 'continued fold');
      checked += 1;
    }),
    PROPERTY_RUNS,
  );
  t.equal(checked, PROPERTY_RUNS.numRuns);
});

function recordedLog(entries: readonly { userId: string; event: EvolvableUserEvent }[]): RawRecordedEvent[] {
  return entries.map(({ userId, event }, i) => ({
    ...event,
    eventId: `e${i}`,
    metadata: { correlationId: 'c', actor: 'test', schemaVersion: 1 },
    streamId: `user-${userId}`,
    revision: i,
    position: i + 1,
  }));
}

t.test('property: foldBatchInPlace over batches (with redelivered events) equals projectUsers', async (t) => {
  let checked = 0;
  const interleavedArb = fc.array(fc.tuple(fc.constantFrom(USER, OTHER), eventArb, timeArb), { maxLength: 40 });
  fc.assert(
    fc.property(interleavedArb, fc.integer({ min: 1, max: 10 }), (entries, batchSize) => {
      const log = recordedLog(entries.map(([userId, event, at]) => ({ userId, event: { ...event, recordedAt: at } })));
      const expected = new Map<string, ProjectedUser>();
      const users = new Map<string, ReplayUser>();
      const changed = new Map<string, number>();
      for (let i = 0; i < log.length; i += batchSize) {
        // Every batch is delivered twice (and the previous one again): duplicates must be skipped.
        const batch = [...log.slice(Math.max(0, i - batchSize), i + batchSize), ...log.slice(i, i + batchSize)];
        for (const [id, user] of projectUsers(batch, (id) => expected.get(id))) expected.set(id, user);
        foldBatchInPlace(users, batch, (id) => changed.set(id, (changed.get(id) ?? 0) + 1));
      }
      for (const [id, user] of expected) {
        assertSame(users.get(id)?.state, user.state, `user ${id}`);
        if (users.get(id)?.position !== user.position) throw new Error(`position of ${id}`);
      }
      const userEvents = new Set(log.map((e) => e.streamId.slice(5)));
      if (changed.size !== userEvents.size) throw new Error('every user with events is reported changed');
      checked += 1;
    }),
    PROPERTY_RUNS,
  );
  t.equal(checked, PROPERTY_RUNS.numRuns);
});

t.test('foldBatchInPlace takes users it has not met from `missing`, once', async (t) => {
  const start = foldUser([{ ...(fc.sample(provisionedArb, { numRuns: 1, seed: 1 })[0]!), recordedAt: '2026-01-01T00:00:00.000Z' }]);
  const log = recordedLog([{ userId: USER, event: { type: 'UserDeactivated', data: { 'user-id': USER, reason: 'admin' }, recordedAt: '2026-01-02T00:00:00.000Z' } }]);
  const users = new Map<string, ReplayUser>();
  const asked: string[] = [];
  const missing = (id: string) => {
    asked.push(id);
    return ownedReplayUser({ state: stored(start), position: 0 });
  };
  foldBatchInPlace(users, log, () => undefined, missing);
  foldBatchInPlace(users, log, () => undefined, missing);
  t.same(asked, [USER], 'asked once');
  t.ok(sameState(users.get(USER)?.state, evolve(stored(start), log[0] as unknown as EvolvableUserEvent)), 'the stored state, evolved');
  t.equal(users.get(USER)?.position, 1);
  const state = users.get(USER)?.state;
  t.equal(state?.status === 'provisioned' && state.active, false, 'deactivated');
});

t.test('memberships are own properties: "__proto__" and "constructor" groups, granted and revoked', async (t) => {
  const idp = SOURCES[0]!;
  const admin = SOURCES[3]!;
  const log: EvolvableUserEvent[] = [
    { ...(fc.sample(provisionedArb, { numRuns: 1, seed: 2 })[0]!), recordedAt: '2026-01-01T00:00:00.000Z' },
    {
      type: 'UserUpdated',
      data: { 'user-id': USER, changes: {}, 'groups-added': [], 'groups-removed': [], grants: [{ group: '__proto__', source: idp }, { group: 'constructor', source: idp }, { group: '__proto__', source: admin }], revocations: [] },
      recordedAt: '2026-01-02T00:00:00.000Z',
    },
    {
      type: 'UserUpdated',
      data: { 'user-id': USER, changes: {}, 'groups-added': [], 'groups-removed': [], grants: [], revocations: [{ group: '__proto__', source: idp }, { group: 'CONSTRUCTOR', source: idp }] },
      recordedAt: '2026-01-03T00:00:00.000Z',
    },
  ];
  const state = foldUserInPlace(log);
  t.ok(sameState(state, foldUser(log)), 'same as foldUser');
  if (state.status !== 'provisioned') throw new Error('expected a provisioned user');
  t.equal(Object.getPrototypeOf(state.groups), Object.prototype, 'groups stay a plain object');
  t.ok(Object.hasOwn(state.groups, '__proto__'), '"__proto__" is an own membership');
  t.same(state.groups['__proto__']?.grants.map((g) => g.source), [admin], 'only the administrator grant is left');
  t.notOk(Object.hasOwn(state.groups, 'constructor'), '"constructor" revoked');
  t.equal(({} as Record<string, unknown>)['grants'], undefined, 'Object.prototype untouched');
});

t.test('spellings that only meet after a second normalization are one membership, in place as in evolve', async (t) => {
  t.equal(groupKey(UNSTABLE_KEY), groupKey('\u1e96'), '"H\\u0331" and "ẖ" share one key');
  t.equal(groupKey(groupKey(UNSTABLE_KEY)), groupKey(UNSTABLE_KEY), 'the key of a key is the key');
  const [idp, partner, , admin] = SOURCES as [GroupSource, GroupSource, GroupSource, GroupSource];
  const grant = (group: string, source: GroupSource) => ({ group, source });
  const log: EvolvableUserEvent[] = [
    { ...(fc.sample(provisionedArb, { numRuns: 1, seed: 3 })[0]!), recordedAt: '2026-01-01T00:00:00.000Z' },
    {
      type: 'UserUpdated',
      data: { 'user-id': USER, changes: {}, 'groups-added': [], 'groups-removed': [], grants: [grant('\u1e96', idp), grant('\u1e96', partner), grant(UNSTABLE_KEY, admin), grant(UNSTABLE_KEY, idp)], revocations: [] },
      recordedAt: '2026-01-02T00:00:00.000Z',
    },
    {
      type: 'UserUpdated',
      data: { 'user-id': USER, changes: {}, 'groups-added': [], 'groups-removed': [], grants: [], revocations: [grant(UNSTABLE_KEY, partner), grant(UNSTABLE_KEY, idp)] },
      recordedAt: '2026-01-03T00:00:00.000Z',
    },
  ];
  const expected = foldUser(log);
  const actual = foldUserInPlace(log);
  t.ok(sameState(actual, expected), `in place ${inspect(actual, { depth: null })}`);
  t.ok(sameState(foldUserInPlace(log.slice(0, 2)), foldUser(log.slice(0, 2))), 'after the grants');
  const afterGrants = foldUser(log.slice(0, 2));
  if (afterGrants.status !== 'provisioned') throw new TypeError('not provisioned');
  const keys = Object.keys(afterGrants.groups).filter((k) => k === groupKey('\u1e96'));
  t.equal(keys.length, 1, 'one membership for both spellings');
  t.equal(afterGrants.groups[groupKey('\u1e96')]?.grants.length, 3, 'with the three distinct sources');
  t.equal(afterGrants.groups[groupKey('\u1e96')]?.name, '\u1e96', 'spelled as first granted');
});

t.test('initialReplayUser is a fresh unknown user at position 0', async (t) => {
  t.strictSame(initialReplayUser(), { state: { status: 'unknown', rejectedLogins: 0 }, position: 0 });
  t.not(initialReplayUser().state, initialReplayUser().state);
});

t.test('an unknown event type is refused, as evolve does', async (t) => {
  const bogus = { type: 'UserRenamed', data: {}, recordedAt: '2026-01-01T00:00:00.000Z' } as unknown as EvolvableUserEvent;
  t.throws(() => evolve({ status: 'unknown', rejectedLogins: 0 }, bogus), TypeError);
  t.throws(() => evolveInPlace(initialReplayUser(), bogus), TypeError);
});
