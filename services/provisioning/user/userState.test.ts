import t from 'tap';
import type { UserEvent } from '../../../events/catalogue.js';
import {
  CORP,
  LOGIN_1,
  LOGIN_2,
  PARTNER,
  SUBJECT,
  T0,
  T1,
  T2,
  T3,
  USER_ID,
  aliceHistory,
  aliceProvisioned,
  fromAdditional,
  fromAdmin,
  fromIdp,
  loggedIn,
  recorded,
} from './testing/deciderSpec.js';
import { evolve, foldUser, groupNames, initialState, sourceKey, type EvolvableUserEvent, type ProvisionedUser, type UserState } from './userState.js';

function provisioned(state: UserState): ProvisionedUser {
  if (state.status !== 'provisioned') throw new TypeError(`expected a provisioned user, got ${state.status}`);
  return state;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

const updated = (data: Partial<Extract<UserEvent, { type: 'UserUpdated' }>['data']>): UserEvent => ({
  type: 'UserUpdated',
  data: { 'user-id': USER_ID, changes: {}, 'groups-added': [], 'groups-removed': [], grants: [], revocations: [], ...data },
});

const rejectedLogin: UserEvent = {
  type: 'LoginRejected',
  data: { 'user-id': USER_ID, 'idp-id': CORP, subject: SUBJECT, reason: 'provisioning-disabled', message: 'no', problems: [], 'login-id': LOGIN_1 },
};

t.test('initialState is an unknown user with no rejected logins, a fresh object each time', async (t) => {
  t.strictSame(initialState(), { status: 'unknown', rejectedLogins: 0 });
  t.not(initialState(), initialState());
});

t.test('UserProvisioned: fields, identity, memberships with grants at recordedAt', async (t) => {
  const state = foldUser([
    recorded(
      aliceProvisioned({
        groups: ['Developers', 'staff'],
        grants: [
          { group: 'Developers', source: fromIdp() },
          { group: 'staff', source: fromAdditional() },
          { group: 'DEVELOPERS', source: fromAdditional() },
        ],
      }),
      T0,
    ),
  ]);
  t.strictSame(state, {
    status: 'provisioned',
    userId: USER_ID,
    username: 'alice',
    displayName: 'Alice Liddell',
    email: 'alice@example.com',
    active: true,
    idpId: CORP,
    subject: SUBJECT,
    identities: [{ idpId: CORP, subject: SUBJECT, linkedAt: T0 }],
    groups: {
      developers: {
        name: 'Developers',
        grants: [
          { source: fromIdp(), grantedAt: T0 },
          { source: fromAdditional(), grantedAt: T0 },
        ],
      },
      staff: { name: 'staff', grants: [{ source: fromAdditional(), grantedAt: T0 }] },
    },
    provisionedAt: T0,
    lastLoginAt: undefined,
    deactivatedAt: undefined,
  });
});

t.test('UserLoggedIn sets lastLoginAt to authenticated-at, not recordedAt', async (t) => {
  const user = provisioned(foldUser(aliceHistory(recorded(loggedIn({ 'authenticated-at': '2024-03-02T09:00:00.000Z' }), T1))));
  t.equal(user.lastLoginAt, '2024-03-02T09:00:00.000Z');
  const later = provisioned(evolve(user, recorded(loggedIn({ 'authenticated-at': '2024-03-05T09:00:00.000Z', 'login-id': LOGIN_2 }), T3)));
  t.equal(later.lastLoginAt, '2024-03-05T09:00:00.000Z');
});

t.test('UserUpdated: only the changed fields change', async (t) => {
  const base = provisioned(foldUser(aliceHistory()));
  const email = provisioned(evolve(base, recorded(updated({ changes: { email: { from: 'alice@example.com', to: '' } } }), T1)));
  t.equal(email.email, '', 'a change to the empty string is applied');
  t.equal(email.username, 'alice');
  t.equal(email.displayName, 'Alice Liddell');
  const renamed = provisioned(
    evolve(base, recorded(updated({ changes: { username: { from: 'alice', to: 'Alice' }, 'display-name': { from: 'Alice Liddell', to: 'A. L.' } } }), T1)),
  );
  t.equal(renamed.username, 'Alice');
  t.equal(renamed.displayName, 'A. L.');
  t.equal(renamed.email, 'alice@example.com');
  t.equal(renamed.provisionedAt, T0, 'provisionedAt is unchanged');
});

t.test('UserUpdated: revocations then grants; a membership ends with its last grant; grants are not duplicated', async (t) => {
  const history = aliceHistory(
    recorded(updated({ grants: [{ group: 'ops', source: fromAdmin() }, { group: 'developers', source: fromAdmin() }] }), T1),
  );
  const before = provisioned(foldUser(history));
  t.strictSame(before.groups['developers'], {
    name: 'developers',
    grants: [
      { source: fromIdp(), grantedAt: T0 },
      { source: fromAdmin(), grantedAt: T1 },
    ],
  });
  const after = provisioned(
    evolve(
      before,
      recorded(
        updated({
          revocations: [
            { group: 'DEVELOPERS', source: fromIdp() },
            { group: 'ops', source: fromAdmin() },
            { group: 'never-had', source: fromAdmin() },
            { group: 'developers', source: fromIdp(PARTNER) },
          ],
          grants: [
            { group: 'Developers', source: fromAdmin() },
            { group: 'QA', source: fromIdp() },
          ],
        }),
        T2,
      ),
    ),
  );
  t.strictSame(after.groups, {
    developers: { name: 'developers', grants: [{ source: fromAdmin(), grantedAt: T1 }] },
    qa: { name: 'QA', grants: [{ source: fromIdp(), grantedAt: T2 }] },
  });
  t.strictSame(groupNames(after), ['developers', 'QA']);
});

t.test('UserUpdated revoking and granting the same group in one event keeps the membership with the new grant', async (t) => {
  const after = provisioned(
    foldUser(
      aliceHistory(
        recorded(updated({ revocations: [{ group: 'developers', source: fromIdp() }], grants: [{ group: 'developers', source: fromAdditional() }] }), T1),
      ),
    ),
  );
  t.strictSame(after.groups, { developers: { name: 'developers', grants: [{ source: fromAdditional(), grantedAt: T1 }] } });
});

t.test('UserDeactivated and UserReactivated', async (t) => {
  const deactivated = provisioned(foldUser(aliceHistory(recorded({ type: 'UserDeactivated', data: { 'user-id': USER_ID, reason: 'inactive' } }, T1))));
  t.equal(deactivated.active, false);
  t.equal(deactivated.deactivatedAt, T1);
  const reactivated = provisioned(evolve(deactivated, recorded({ type: 'UserReactivated', data: { 'user-id': USER_ID } }, T2)));
  t.equal(reactivated.active, true);
  t.equal(reactivated.deactivatedAt, undefined);
});

t.test('UserIdentityLinked adds an identity at recordedAt; the provisioning IdP stays', async (t) => {
  const user = provisioned(
    foldUser(
      aliceHistory(
        recorded({ type: 'UserIdentityLinked', data: { 'user-id': USER_ID, 'idp-id': PARTNER, subject: 'p-1', username: 'alice', 'login-id': LOGIN_2 } }, T1),
      ),
    ),
  );
  t.strictSame(user.identities, [
    { idpId: CORP, subject: SUBJECT, linkedAt: T0 },
    { idpId: PARTNER, subject: 'p-1', linkedAt: T1 },
  ]);
  t.equal(user.idpId, CORP);
  t.equal(user.subject, SUBJECT);
});

t.test('LoginRejected counts rejected logins of an unknown identity, changes nothing for a user', async (t) => {
  t.strictSame(foldUser([recorded(rejectedLogin, T0), recorded(rejectedLogin, T1)]), { status: 'unknown', rejectedLogins: 2 });
  const user = foldUser(aliceHistory());
  t.equal(evolve(user, recorded(rejectedLogin, T1)), user, 'same state object');
});

t.test('events other than UserProvisioned leave an unknown user unknown', async (t) => {
  const others: UserEvent[] = [
    updated({ changes: { email: { from: '', to: 'x' } } }),
    loggedIn(),
    { type: 'UserDeactivated', data: { 'user-id': USER_ID, reason: 'admin' } },
    { type: 'UserReactivated', data: { 'user-id': USER_ID } },
    { type: 'UserIdentityLinked', data: { 'user-id': USER_ID, 'idp-id': PARTNER, subject: 'p', username: 'alice', 'login-id': LOGIN_2 } },
  ];
  for (const event of others) t.strictSame(evolve(initialState(), recorded(event, T1)), initialState(), event.type);
});

t.test('a stream with a rejected first login and then a provisioning folds to the user', async (t) => {
  const history: EvolvableUserEvent[] = [recorded(rejectedLogin, T0), ...aliceHistory(recorded(loggedIn(), T1))];
  t.equal(provisioned(foldUser(history)).lastLoginAt, '2024-03-02T09:59:58.000Z');
  t.strictSame(foldUser(history), history.reduce(evolve, initialState()), 'foldUser is reduce(evolve, initialState())');
});

t.test('evolve never mutates the state or the event', async (t) => {
  const history = aliceHistory(recorded(updated({ grants: [{ group: 'ops', source: fromAdmin() }] }), T1));
  const state = deepFreeze(foldUser(history));
  const events: EvolvableUserEvent[] = [
    recorded(updated({ changes: { username: { from: 'alice', to: 'Alice' } }, revocations: [{ group: 'ops', source: fromAdmin() }], grants: [{ group: 'qa', source: fromIdp() }] }), T2),
    recorded(loggedIn(), T2),
    recorded({ type: 'UserDeactivated', data: { 'user-id': USER_ID, reason: 'admin' } }, T2),
    recorded({ type: 'UserIdentityLinked', data: { 'user-id': USER_ID, 'idp-id': PARTNER, subject: 'p', username: 'alice', 'login-id': LOGIN_2 } }, T2),
  ];
  for (const event of events) {
    const frozen = deepFreeze(event);
    t.doesNotThrow(() => evolve(state, frozen), `${event.type} on frozen input`);
  }
  t.strictSame(Object.keys(state.status === 'provisioned' ? state.groups : {}).sort(), ['developers', 'ops']);
});

t.test('an unknown event type is a programming error', async (t) => {
  const bogus = { type: 'UserExploded', data: {}, recordedAt: T0 } as unknown as EvolvableUserEvent;
  t.throws(() => evolve(initialState(), bogus), TypeError);
});

t.test('sourceKey distinguishes every kind of source', async (t) => {
  const keys = [fromIdp(), fromIdp(PARTNER), fromAdditional(), fromAdditional(PARTNER), fromAdmin()].map(sourceKey);
  t.equal(new Set(keys).size, keys.length);
  t.equal(sourceKey({ type: 'idp', 'idp-id': CORP }), sourceKey(fromIdp()), 'structurally equal sources share a key');
});

t.test('groupNames: sorted case-insensitively, stored spelling', async (t) => {
  const user = provisioned(
    foldUser([
      recorded(
        aliceProvisioned({
          groups: [],
          grants: [
            { group: 'zeta', source: fromIdp() },
            { group: 'Alpha', source: fromIdp() },
            { group: 'beta', source: fromAdmin() },
          ],
        }),
        T0,
      ),
    ]),
  );
  t.strictSame(groupNames(user), ['Alpha', 'beta', 'zeta']);
});
