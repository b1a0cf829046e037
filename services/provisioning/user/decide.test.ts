import t from 'tap';
import type { UserEvent } from '../../../events/catalogue.js';
import type { DeactivateUser, GrantGroup, ReactivateUser, RevokeGroup, UserCommand } from './commands.js';
import { UserStateError } from './commands.js';
import { decide, jitSettings } from './decide.js';
import { outcomeOf } from './outcome.js';
import {
  CORP,
  LOGIN_1,
  LOGIN_2,
  OTHER_USER_ID,
  PARTNER,
  SUBJECT,
  T0,
  T1,
  T2,
  UNMAPPED,
  USER_ID,
  aliceHistory,
  aliceProvisioned,
  fromAdditional,
  fromAdmin,
  fromIdp,
  given,
  groups,
  handleLogin,
  idpConfig,
  loggedIn,
  mappedLogin,
  missing,
  problem,
  recordAll,
  recorded,
  uuid,
  value,
} from './testing/deciderSpec.js';
import { foldUser, initialState, type ProvisionedUser, type UserState } from './userState.js';

const deactivate = (comment?: string): DeactivateUser => ({
  type: 'DeactivateUser',
  data: { reason: 'admin', ...(comment === undefined ? {} : { comment }) },
  metadata: { now: T2 },
});
const reactivate = (comment?: string): ReactivateUser => ({
  type: 'ReactivateUser',
  data: comment === undefined ? {} : { comment },
  metadata: { now: T2 },
});
const grant = (group: string): GrantGroup => ({ type: 'GrantGroup', data: { group }, metadata: { now: T2 } });
const revoke = (group: string): RevokeGroup => ({ type: 'RevokeGroup', data: { group }, metadata: { now: T2 } });

function provisionedState(state: UserState): ProvisionedUser {
  if (state.status !== 'provisioned') throw new TypeError(`expected a provisioned user, got ${state.status}`);
  return state;
}

function rejected(reason: string, message: string, extra: { username?: string; problems?: unknown[]; userId?: string; subject?: string } = {}): UserEvent {
  return {
    type: 'LoginRejected',
    data: {
      'user-id': extra.userId ?? USER_ID,
      'idp-id': CORP,
      subject: extra.subject ?? SUBJECT,
      ...(extra.username === undefined ? {} : { username: extra.username }),
      reason,
      message,
      problems: extra.problems ?? [],
      'login-id': LOGIN_2,
    },
  } as UserEvent;
}

// -------------------------------------------------------------------------------------------
// jitSettings
// -------------------------------------------------------------------------------------------

t.test('jitSettings applies the documented defaults', async (t) => {
  t.strictSame(jitSettings(idpConfig({}, { 'jit-configuration': {} })), {
    'user-provisioning-enabled': false,
    'mapping-display-name': '',
    'mapping-email': '',
    'mapping-groups': '',
    'additional-openid-scopes': [],
    'additional-groups': [],
    'group-sync': 'replace',
    'link-existing-users': false,
    'on-missing-attribute': 'reject',
  });
  t.equal(jitSettings(idpConfig({ 'deactivate-after-days': 30 }))['deactivate-after-days'], 30);
  t.equal(jitSettings(idpConfig({ 'group-sync': 'managed' }))['group-sync'], 'managed');
});

// -------------------------------------------------------------------------------------------
// first login
// -------------------------------------------------------------------------------------------

t.test('first login', async (t) => {
  t.test('provisioning enabled: UserProvisioned with the mapped fields and provenance, then UserLoggedIn', async (t) => {
    const state = given(t, [])
      .when(
        handleLogin({
          jit: { 'additional-groups': ['jira-users', 'Developers'] },
          mapped: { groups: groups('developers', 'Ops', 'ops', ' qa ') },
          login: { loginId: LOGIN_1 },
        }),
      )
      .then([
        {
          type: 'UserProvisioned',
          data: {
            'user-id': USER_ID,
            'idp-id': CORP,
            subject: SUBJECT,
            username: 'alice',
            'display-name': 'Alice Liddell',
            email: 'alice@example.com',
            groups: ['developers', 'Ops', 'qa', 'jira-users'],
            grants: [
              { group: 'developers', source: fromIdp() },
              { group: 'Ops', source: fromIdp() },
              { group: 'qa', source: fromIdp() },
              { group: 'jira-users', source: fromAdditional() },
              { group: 'Developers', source: fromAdditional() },
            ],
            'login-id': LOGIN_1,
          },
        },
        loggedIn({ 'login-id': LOGIN_1 }),
      ]);
    const user = provisionedState(state);
    t.strictSame(user.groups['developers'], {
      name: 'developers',
      grants: [
        { source: fromIdp(), grantedAt: T1 },
        { source: fromAdditional(), grantedAt: T1 },
      ],
    });
    t.strictSame(Object.keys(user.groups).sort(), ['developers', 'jira-users', 'ops', 'qa']);
  });

  t.test('an OIDC first login records the protocol', async (t) => {
    given(t, [])
      .when(handleLogin({ login: { protocol: 'oidc', attributes: undefined, claims: { sub: SUBJECT } }, mapped: { groups: UNMAPPED } }))
      .then([
        {
          type: 'UserProvisioned',
          data: {
            'user-id': USER_ID,
            'idp-id': CORP,
            subject: SUBJECT,
            username: 'alice',
            'display-name': 'Alice Liddell',
            email: 'alice@example.com',
            groups: [],
            grants: [],
            'login-id': LOGIN_2,
          },
        },
        loggedIn({ protocol: 'oidc' }),
      ]);
  });

  t.test('provisioning disabled: LoginRejected(provisioning-disabled)', async (t) => {
    const state = given(t, [])
      .when(handleLogin({ jit: { 'user-provisioning-enabled': false } }))
      .then([rejected('provisioning-disabled', 'IdP corp does not create users on login', { username: 'alice' })]);
    t.strictSame(state, { status: 'unknown', rejectedLogins: 1 }, 'a rejected first login provisions nothing');
  });

  t.test('provisioning disabled by default (no user-provisioning-enabled)', async (t) => {
    given(t, [])
      .when(handleLogin({ idp: idpConfig({}, { 'jit-configuration': {} }) }))
      .then([rejected('provisioning-disabled', 'IdP corp does not create users on login', { username: 'alice' })]);
  });

  t.test('IdP disabled: LoginRejected(idp-disabled)', async (t) => {
    given(t, [])
      .when(handleLogin({ idp: idpConfig({}, { enabled: false }) }))
      .then([rejected('idp-disabled', 'IdP corp is disabled')]);
  });

  t.test('username owned by another user: username-conflict', async (t) => {
    given(t, [])
      .when(handleLogin({ usernameOwner: OTHER_USER_ID }))
      .then([rejected('username-conflict', 'The username alice belongs to another user', { username: 'alice' })]);
  });

  t.test('username owned by another user, even with link-existing-users on the new stream: username-conflict', async (t) => {
    given(t, [])
      .when(handleLogin({ usernameOwner: OTHER_USER_ID, jit: { 'link-existing-users': true } }))
      .then([rejected('username-conflict', 'The username alice belongs to another user', { username: 'alice' })]);
  });

  t.test('the username is stored NFKC-normalized and trimmed', async (t) => {
    const state = given(t, [])
      .when(handleLogin({ mapped: { username: value(' ａｌｉｃｅ '), displayName: UNMAPPED, email: UNMAPPED, groups: UNMAPPED } }))
      .then([
        {
          type: 'UserProvisioned',
          data: {
            'user-id': USER_ID,
            'idp-id': CORP,
            subject: SUBJECT,
            username: 'alice',
            'display-name': 'alice',
            email: '',
            groups: [],
            grants: [],
            'login-id': LOGIN_2,
          },
        },
        loggedIn(),
      ]);
    t.equal(provisionedState(state).username, 'alice');
  });
});

// -------------------------------------------------------------------------------------------
// mapping errors and on-missing-attribute
// -------------------------------------------------------------------------------------------

t.test('mapping errors', async (t) => {
  const problems = [{ code: 'filter-failed', message: 'regex did not match', field: 'email' }];

  t.test('mapped.ok false: mapping-error with the problems, first login', async (t) => {
    given(t, [])
      .when(handleLogin({ mapped: { ok: false, problems } }))
      .then([rejected('mapping-error', 'The login could not be mapped to a user', { problems })]);
  });

  t.test('mapped.ok false: mapping-error, existing user unchanged', async (t) => {
    const state = given(t, aliceHistory())
      .when(handleLogin({ mapped: { ok: false, problems } }))
      .then([rejected('mapping-error', 'The login could not be mapped to a user', { problems })]);
    t.strictSame(state, foldUser(aliceHistory()), 'a mapping error changes nothing');
  });

  t.test('problems are capped at 50 (schema maxItems)', async (t) => {
    const many = Array.from({ length: 60 }, (_, i) => ({ code: 'attribute-missing', message: `missing ${i}` }));
    given(t, [])
      .when(handleLogin({ mapped: { ok: false, problems: many } }))
      .then([rejected('mapping-error', 'The login could not be mapped to a user', { problems: many.slice(0, 50) })]);
  });

  t.test('missing attribute with reject (default): mapping-error listing every missing attribute', async (t) => {
    given(t, aliceHistory())
      .when(handleLogin({ mapped: { email: missing('email'), groups: missing('memberOf') } }))
      .then([rejected('mapping-error', 'An attribute the mappings need is missing', { problems: [problem('email'), problem('memberOf')] })]);
  });

  t.test('missing attribute with explicit reject on a first login: mapping-error', async (t) => {
    given(t, [])
      .when(handleLogin({ jit: { 'on-missing-attribute': 'reject' }, mapped: { displayName: missing('displayName') } }))
      .then([rejected('mapping-error', 'An attribute the mappings need is missing', { problems: [problem('displayName')] })]);
  });

  t.test('keep: an existing user keeps the stored values of missing attributes', async (t) => {
    const state = given(t, aliceHistory())
      .when(
        handleLogin({
          jit: { 'on-missing-attribute': 'keep' },
          mapped: { displayName: missing('displayName'), email: missing('email'), groups: missing('memberOf') },
        }),
      )
      .then([loggedIn()]);
    const user = provisionedState(state);
    t.equal(user.displayName, 'Alice Liddell');
    t.equal(user.email, 'alice@example.com');
    t.strictSame(Object.keys(user.groups), ['developers']);
  });

  t.test('keep: a missing username keeps the stored username while other fields update', async (t) => {
    given(t, aliceHistory())
      .when(handleLogin({ jit: { 'on-missing-attribute': 'keep' }, mapped: { username: missing('uid'), email: value('a@new.example') } }))
      .then([
        {
          type: 'UserUpdated',
          data: {
            'user-id': USER_ID,
            'idp-id': CORP,
            changes: { email: { from: 'alice@example.com', to: 'a@new.example' } },
            'groups-added': [],
            'groups-removed': [],
            grants: [],
            revocations: [],
            'login-id': LOGIN_2,
          },
        },
        loggedIn(),
      ]);
  });

  t.test('keep on a first login: display name falls back to the username, email to empty', async (t) => {
    given(t, [])
      .when(
        handleLogin({
          jit: { 'on-missing-attribute': 'keep', 'additional-groups': ['staff'] },
          mapped: { displayName: missing('displayName'), email: missing('mail'), groups: missing('memberOf') },
        }),
      )
      .then([
        {
          type: 'UserProvisioned',
          data: {
            'user-id': USER_ID,
            'idp-id': CORP,
            subject: SUBJECT,
            username: 'alice',
            'display-name': 'alice',
            email: '',
            groups: ['staff'],
            grants: [{ group: 'staff', source: fromAdditional() }],
            'login-id': LOGIN_2,
          },
        },
        loggedIn(),
      ]);
  });

  t.test('keep on a first login: a missing username is still a mapping-error', async (t) => {
    given(t, [])
      .when(handleLogin({ jit: { 'on-missing-attribute': 'keep' }, mapped: { username: missing('uid'), email: missing('mail') } }))
      .then([rejected('mapping-error', 'An attribute the mappings need is missing', { problems: [problem('uid'), problem('mail')] })]);
  });

  t.test('a first login without any username mapping is a mapping-error, never an empty username', async (t) => {
    given(t, [])
      .when(handleLogin({ mapped: { username: UNMAPPED } }))
      .then([
        rejected('mapping-error', 'The login has no username', {
          problems: [{ code: 'username-unmapped', message: 'No username could be mapped for this login', field: 'username' }],
        }),
      ]);
  });

  t.test('a username that is empty after trimming is a mapping-error', async (t) => {
    given(t, [])
      .when(handleLogin({ mapped: { username: value('   ') } }))
      .then([
        rejected('mapping-error', 'The mapped username is not acceptable', {
          problems: [{ code: 'invalid-username', message: 'the mapped username is empty', field: 'username' }],
        }),
      ]);
  });

  t.test('a username with control characters is a mapping-error, on later logins too', async (t) => {
    const problems = [{ code: 'invalid-username', message: 'the mapped username contains control or invisible characters', field: 'username' }];
    given(t, [])
      .when(handleLogin({ mapped: { username: value('ali\u0000ce') } }))
      .then([rejected('mapping-error', 'The mapped username is not acceptable', { problems })]);
    given(t, aliceHistory())
      .when(handleLogin({ mapped: { username: value('alice\u200b') } }))
      .then([rejected('mapping-error', 'The mapped username is not acceptable', { problems })]);
  });

  t.test('a username longer than 255 characters is a mapping-error', async (t) => {
    given(t, [])
      .when(handleLogin({ mapped: { username: value('a'.repeat(256)) } }))
      .then([
        rejected('mapping-error', 'The mapped username is not acceptable', {
          problems: [{ code: 'invalid-username', message: 'the mapped username is longer than 255 characters', field: 'username' }],
        }),
      ]);
  });

  t.test('values the event schemas cannot carry are a mapping-error, not an invalid event', async (t) => {
    given(t, aliceHistory())
      .when(handleLogin({ mapped: { displayName: value('d'.repeat(1025)), email: value('e'.repeat(1025)) } }))
      .then([
        rejected('mapping-error', 'A mapped value is too long', {
          problems: [
            { code: 'value-too-long', message: 'the mapped display-name is longer than 1024 characters', field: 'display-name' },
            { code: 'value-too-long', message: 'the mapped email is longer than 1024 characters', field: 'email' },
          ],
        }),
      ]);
    given(t, [])
      .when(handleLogin({ mapped: { groups: groups('developers', 'g'.repeat(256), 'h'.repeat(300)) } }))
      .then([
        rejected('mapping-error', 'A mapped value is too long', {
          problems: [{ code: 'value-too-long', message: '2 group name(s) are longer than 255 characters', field: 'groups' }],
        }),
      ]);
  });

  t.test('lengths count code points like the schemas: 1024 emoji and a 255-emoji group are fine', async (t) => {
    const emoji = '🙂';
    given(t, aliceHistory())
      .when(handleLogin({ mapped: { displayName: value(emoji.repeat(1024)), groups: groups('developers', ` ${emoji.repeat(255)} `) } }))
      .then([
        {
          type: 'UserUpdated',
          data: {
            'user-id': USER_ID,
            'idp-id': CORP,
            changes: { 'display-name': { from: 'Alice Liddell', to: emoji.repeat(1024) } },
            'groups-added': [emoji.repeat(255)],
            'groups-removed': [],
            grants: [{ group: emoji.repeat(255), source: fromIdp() }],
            revocations: [],
            'login-id': LOGIN_2,
          },
        },
        loggedIn(),
      ]);
  });
});

// -------------------------------------------------------------------------------------------
// later logins
// -------------------------------------------------------------------------------------------

t.test('later logins', async (t) => {
  t.test('nothing changed: only UserLoggedIn', async (t) => {
    const state = given(t, aliceHistory()).when(handleLogin()).then([loggedIn()]);
    t.equal(provisionedState(state).lastLoginAt, '2024-03-02T09:59:58.000Z');
  });

  t.test('nothing changed even if the groups differ only in case and spelling of whitespace', async (t) => {
    given(t, aliceHistory())
      .when(handleLogin({ mapped: { groups: groups('Developers', ' DEVELOPERS ') } }))
      .then([loggedIn()]);
  });

  t.test('email change: UserUpdated with only that field, then UserLoggedIn', async (t) => {
    given(t, aliceHistory())
      .when(handleLogin({ mapped: { email: value('alice@new.example') } }))
      .then([
        {
          type: 'UserUpdated',
          data: {
            'user-id': USER_ID,
            'idp-id': CORP,
            changes: { email: { from: 'alice@example.com', to: 'alice@new.example' } },
            'groups-added': [],
            'groups-removed': [],
            grants: [],
            revocations: [],
            'login-id': LOGIN_2,
          },
        },
        loggedIn(),
      ]);
  });

  t.test('display name and email change together', async (t) => {
    const state = given(t, aliceHistory())
      .when(handleLogin({ mapped: { displayName: value('Alice Hargreaves'), email: value('') } }))
      .then([
        {
          type: 'UserUpdated',
          data: {
            'user-id': USER_ID,
            'idp-id': CORP,
            changes: {
              'display-name': { from: 'Alice Liddell', to: 'Alice Hargreaves' },
              email: { from: 'alice@example.com', to: '' },
            },
            'groups-added': [],
            'groups-removed': [],
            grants: [],
            revocations: [],
            'login-id': LOGIN_2,
          },
        },
        loggedIn(),
      ]);
    const user = provisionedState(state);
    t.equal(user.displayName, 'Alice Hargreaves');
    t.equal(user.email, '', 'an email changed to empty is stored as empty');
  });

  t.test('unmapped display name and email leave the stored values alone', async (t) => {
    given(t, aliceHistory())
      .when(handleLogin({ mapped: { displayName: UNMAPPED, email: UNMAPPED } }))
      .then([loggedIn()]);
  });

  t.test('case-only rename alice → Alice is an update although the owner is the same user', async (t) => {
    const state = given(t, aliceHistory())
      .when(handleLogin({ mapped: { username: value('Alice') }, usernameOwner: USER_ID }))
      .then([
        {
          type: 'UserUpdated',
          data: {
            'user-id': USER_ID,
            'idp-id': CORP,
            changes: { username: { from: 'alice', to: 'Alice' } },
            'groups-added': [],
            'groups-removed': [],
            grants: [],
            revocations: [],
            'login-id': LOGIN_2,
          },
        },
        loggedIn(),
      ]);
    t.equal(provisionedState(state).username, 'Alice');
  });

  t.test('a case-only rename never conflicts: the key is the user\'s own, whatever a stale owner lookup says', async (t) => {
    given(t, aliceHistory())
      .when(handleLogin({ mapped: { username: value('ALICE') }, usernameOwner: OTHER_USER_ID }))
      .then([
        {
          type: 'UserUpdated',
          data: {
            'user-id': USER_ID,
            'idp-id': CORP,
            changes: { username: { from: 'alice', to: 'ALICE' } },
            'groups-added': [],
            'groups-removed': [],
            grants: [],
            revocations: [],
            'login-id': LOGIN_2,
          },
        },
        loggedIn(),
      ]);
  });

  t.test('a username that only differs before normalization is not a rename', async (t) => {
    given(t, aliceHistory())
      .when(handleLogin({ mapped: { username: value('ａｌｉｃｅ ') }, usernameOwner: USER_ID }))
      .then([loggedIn()]);
  });

  t.test('rename to a free username', async (t) => {
    given(t, aliceHistory())
      .when(handleLogin({ mapped: { username: value('alice.liddell') }, usernameOwner: undefined }))
      .then([
        {
          type: 'UserUpdated',
          data: {
            'user-id': USER_ID,
            'idp-id': CORP,
            changes: { username: { from: 'alice', to: 'alice.liddell' } },
            'groups-added': [],
            'groups-removed': [],
            grants: [],
            revocations: [],
            'login-id': LOGIN_2,
          },
        },
        loggedIn(),
      ]);
  });

  t.test('rename to a username owned by another user: username-conflict and nothing else', async (t) => {
    const state = given(t, aliceHistory())
      .when(handleLogin({ mapped: { username: value('bob'), email: value('x@y.example'), groups: groups('admins') }, usernameOwner: OTHER_USER_ID }))
      .then([rejected('username-conflict', 'The username bob belongs to another user', { username: 'bob' })]);
    t.strictSame(state, foldUser(aliceHistory()), 'the rejected login changes nothing, not even lastLoginAt');
  });

  t.test('IdP disabled rejects existing users too', async (t) => {
    given(t, aliceHistory())
      .when(handleLogin({ idp: idpConfig({}, { enabled: false }) }))
      .then([rejected('idp-disabled', 'IdP corp is disabled')]);
  });

  t.test('provisioning disabled does not stop existing users from logging in and being updated', async (t) => {
    given(t, aliceHistory())
      .when(handleLogin({ jit: { 'user-provisioning-enabled': false }, mapped: { email: value('alice@new.example') } }))
      .then([
        {
          type: 'UserUpdated',
          data: {
            'user-id': USER_ID,
            'idp-id': CORP,
            changes: { email: { from: 'alice@example.com', to: 'alice@new.example' } },
            'groups-added': [],
            'groups-removed': [],
            grants: [],
            revocations: [],
            'login-id': LOGIN_2,
          },
        },
        loggedIn(),
      ]);
  });
});

// -------------------------------------------------------------------------------------------
// linking
// -------------------------------------------------------------------------------------------

t.test('linking an identity to an existing user', async (t) => {
  const partnerIdp = idpConfig({ 'link-existing-users': true }, { id: PARTNER, name: 'Partner' });
  const partnerLogin = { idpId: PARTNER, subject: 'a.liddell@partner.example', protocol: 'oidc', attributes: undefined, claims: {} } as const;
  const linked: UserEvent = {
    type: 'UserIdentityLinked',
    data: { 'user-id': USER_ID, 'idp-id': PARTNER, subject: 'a.liddell@partner.example', username: 'alice', 'login-id': LOGIN_2 },
  };
  const partnerLoggedIn = loggedIn({ 'idp-id': PARTNER, subject: 'a.liddell@partner.example', protocol: 'oidc' });

  t.test('link: true on the owner stream: UserIdentityLinked, then the update, then UserLoggedIn', async (t) => {
    const state = given(t, aliceHistory())
      .when(handleLogin({ idp: partnerIdp, login: partnerLogin, usernameOwner: USER_ID, link: true, mapped: { groups: groups('partners') } }))
      .then([
        linked,
        {
          type: 'UserUpdated',
          data: {
            'user-id': USER_ID,
            'idp-id': PARTNER,
            changes: {},
            'groups-added': ['partners'],
            'groups-removed': ['developers'],
            grants: [{ group: 'partners', source: fromIdp(PARTNER) }],
            revocations: [{ group: 'developers', source: fromIdp(CORP) }],
            'login-id': LOGIN_2,
          },
        },
        partnerLoggedIn,
      ]);
    t.strictSame(provisionedState(state).identities, [
      { idpId: CORP, subject: SUBJECT, linkedAt: T0 },
      { idpId: PARTNER, subject: 'a.liddell@partner.example', linkedAt: T1 },
    ]);
  });

  t.test('link with nothing to update: UserIdentityLinked then UserLoggedIn', async (t) => {
    given(t, aliceHistory())
      .when(
        handleLogin({
          idp: idpConfig({ 'link-existing-users': true, 'group-sync': 'managed' }, { id: PARTNER }),
          login: partnerLogin,
          usernameOwner: USER_ID,
          link: true,
          mapped: { groups: UNMAPPED },
        }),
      )
      .then([linked, partnerLoggedIn]);
  });

  t.test('an identity that is already linked is not linked a second time', async (t) => {
    const history = aliceHistory(recorded(linked, T1));
    given(t, history)
      .when(
        handleLogin({
          idp: idpConfig({ 'link-existing-users': true, 'group-sync': 'managed' }, { id: PARTNER }),
          login: partnerLogin,
          usernameOwner: USER_ID,
          link: true,
          mapped: { groups: UNMAPPED },
        }),
      )
      .then([partnerLoggedIn]);
    given(t, aliceHistory())
      .when(handleLogin({ jit: { 'link-existing-users': true }, usernameOwner: USER_ID, link: true }))
      .then([loggedIn()], 'the provisioning identity itself is never linked again');
  });

  const takeover = (username: string): UserEvent[] => [
    {
      type: 'LoginRejected',
      data: {
        'user-id': USER_ID,
        'idp-id': PARTNER,
        subject: 'a.liddell@partner.example',
        username,
        reason: 'username-conflict',
        message: `The identity partner/a.liddell@partner.example may not be linked to user ${username}`,
        problems: [],
        'login-id': LOGIN_2,
      },
    },
  ];

  t.test('link: true without link-existing-users on the IdP is a username-conflict (no silent takeover)', async (t) => {
    given(t, aliceHistory())
      .when(handleLogin({ idp: idpConfig({}, { id: PARTNER }), login: partnerLogin, usernameOwner: USER_ID, link: true }))
      .then(takeover('alice'));
  });

  t.test('an unknown identity on a provisioned stream without link is a username-conflict', async (t) => {
    given(t, aliceHistory())
      .when(handleLogin({ idp: partnerIdp, login: partnerLogin, usernameOwner: USER_ID, link: false }))
      .then(takeover('alice'));
  });

  t.test('linking needs the same username: a link whose mapped username differs is a username-conflict', async (t) => {
    given(t, aliceHistory())
      .when(handleLogin({ idp: partnerIdp, login: partnerLogin, usernameOwner: undefined, link: true, mapped: { username: value('a.liddell') } }))
      .then(takeover('alice'));
    given(t, aliceHistory())
      .when(
        handleLogin({
          idp: idpConfig({ 'link-existing-users': true, 'on-missing-attribute': 'keep' }, { id: PARTNER }),
          login: partnerLogin,
          usernameOwner: undefined,
          link: true,
          mapped: { username: missing('uid') },
        }),
      )
      .then(takeover('alice'), 'nor when the username is missing (keep)');
  });

  t.test('a case-different username still links (usernames compare case-insensitively)', async (t) => {
    given(t, aliceHistory())
      .when(
        handleLogin({
          idp: idpConfig({ 'link-existing-users': true, 'group-sync': 'add-only' }, { id: PARTNER }),
          login: partnerLogin,
          usernameOwner: USER_ID,
          link: true,
          mapped: { username: value('ALICE'), groups: UNMAPPED },
        }),
      )
      .then([
        linked,
        {
          type: 'UserUpdated',
          data: {
            'user-id': USER_ID,
            'idp-id': PARTNER,
            changes: { username: { from: 'alice', to: 'ALICE' } },
            'groups-added': [],
            'groups-removed': [],
            grants: [],
            revocations: [],
            'login-id': LOGIN_2,
          },
        },
        partnerLoggedIn,
      ]);
  });

  t.test('a deactivated user cannot be linked', async (t) => {
    given(t, aliceHistory(recorded({ type: 'UserDeactivated', data: { 'user-id': USER_ID, reason: 'admin' } }, T1)))
      .when(handleLogin({ idp: partnerIdp, login: partnerLogin, usernameOwner: USER_ID, link: true }))
      .then([
        rejected('user-deactivated', 'User alice is deactivated', { username: 'alice', subject: 'a.liddell@partner.example' }),
      ].map((e) => ({ ...e, data: { ...e.data, 'idp-id': PARTNER } }) as UserEvent));
  });
});

// -------------------------------------------------------------------------------------------
// deactivation and reactivation
// -------------------------------------------------------------------------------------------

t.test('deactivation', async (t) => {
  const deactivated: UserEvent = { type: 'UserDeactivated', data: { 'user-id': USER_ID, reason: 'admin' } };

  t.test('DeactivateUser on an active user: UserDeactivated (comment kept, empty comment dropped)', async (t) => {
    const state = given(t, aliceHistory()).when(deactivate('left the company')).then([
      { type: 'UserDeactivated', data: { 'user-id': USER_ID, reason: 'admin', comment: 'left the company' } },
    ]);
    const user = provisionedState(state);
    t.equal(user.active, false);
    t.equal(user.deactivatedAt, T2);
    given(t, aliceHistory()).when(deactivate('')).then([deactivated]);
    given(t, aliceHistory())
      .when({ type: 'DeactivateUser', data: { reason: 'inactive' }, metadata: { now: T2 } })
      .then([{ type: 'UserDeactivated', data: { 'user-id': USER_ID, reason: 'inactive' } }]);
  });

  t.test('DeactivateUser twice: the second emits nothing', async (t) => {
    given(t, aliceHistory(recorded(deactivated, T1))).when(deactivate()).then([]);
  });

  t.test('a deactivated user logging in is rejected and not reactivated', async (t) => {
    const state = given(t, aliceHistory(recorded(deactivated, T1)))
      .when(handleLogin({ mapped: { email: value('changed@example.com'), groups: groups('admins') }, now: T2 }))
      .then([rejected('user-deactivated', 'User alice is deactivated', { username: 'alice' })]);
    const user = provisionedState(state);
    t.equal(user.active, false);
    t.equal(user.email, 'alice@example.com');
    t.equal(user.lastLoginAt, undefined);
  });

  t.test('ReactivateUser on a deactivated user: UserReactivated', async (t) => {
    const state = given(t, aliceHistory(recorded(deactivated, T1)))
      .when(reactivate('back from leave'))
      .then([{ type: 'UserReactivated', data: { 'user-id': USER_ID, comment: 'back from leave' } }]);
    const user = provisionedState(state);
    t.equal(user.active, true);
    t.equal(user.deactivatedAt, undefined);
    given(t, aliceHistory(recorded(deactivated, T1))).when(reactivate()).then([{ type: 'UserReactivated', data: { 'user-id': USER_ID } }]);
  });

  t.test('ReactivateUser on an active user: nothing', async (t) => {
    given(t, aliceHistory()).when(reactivate()).then([]);
  });

  t.test('after reactivation the user can log in again', async (t) => {
    given(t, aliceHistory(recorded(deactivated, T1), recorded({ type: 'UserReactivated', data: { 'user-id': USER_ID } }, T1)))
      .when(handleLogin({ now: T2 }))
      .then([loggedIn()]);
  });
});

t.test('admin commands on an unknown user throw UserStateError(user-not-found)', async (t) => {
  const commands: UserCommand[] = [deactivate(), reactivate(), grant('admins'), revoke('admins')];
  const rejectedOnly = [recorded(rejected('provisioning-disabled', 'IdP corp does not create users on login', { username: 'alice' }), T0)];
  for (const command of commands) {
    given(t, []).when(command).thenThrows(UserStateError, 'user-not-found', `${command.type} on an empty stream`);
    given(t, rejectedOnly).when(command).thenThrows(UserStateError, 'user-not-found', `${command.type} on a stream of rejected logins`);
  }
});

// -------------------------------------------------------------------------------------------
// admin group commands
// -------------------------------------------------------------------------------------------

t.test('GrantGroup and RevokeGroup', async (t) => {
  const adminGrant = (group: string, added: string[]): UserEvent => ({
    type: 'UserUpdated',
    data: { 'user-id': USER_ID, changes: {}, 'groups-added': added, 'groups-removed': [], grants: [{ group, source: fromAdmin() }], revocations: [] },
  });

  t.test('GrantGroup of a new group adds the membership with admin provenance', async (t) => {
    const state = given(t, aliceHistory()).when(grant('  Admins ')).then([adminGrant('Admins', ['Admins'])]);
    t.strictSame(provisionedState(state).groups['admins'], { name: 'Admins', grants: [{ source: fromAdmin(), grantedAt: T2 }] });
  });

  t.test('GrantGroup of a group the IdP granted adds admin provenance, no groups-added, keeps the stored spelling', async (t) => {
    const state = given(t, aliceHistory()).when(grant('DEVELOPERS')).then([adminGrant('developers', [])]);
    t.strictSame(provisionedState(state).groups['developers'], {
      name: 'developers',
      grants: [
        { source: fromIdp(), grantedAt: T0 },
        { source: fromAdmin(), grantedAt: T2 },
      ],
    });
  });

  t.test('GrantGroup is idempotent', async (t) => {
    given(t, aliceHistory(recorded(adminGrant('admins', ['admins']), T1)))
      .when(grant('ADMINS'))
      .then([]);
  });

  t.test('GrantGroup with an invalid group name throws invalid-group', async (t) => {
    for (const name of ['', '   ', '\u3000', 'x'.repeat(256)]) {
      given(t, aliceHistory()).when(grant(name)).thenThrows(UserStateError, 'invalid-group', `grant ${JSON.stringify(name.slice(0, 10))}`);
      given(t, aliceHistory()).when(revoke(name)).thenThrows(UserStateError, 'invalid-group', `revoke ${JSON.stringify(name.slice(0, 10))}`);
    }
    given(t, aliceHistory()).when(grant('x'.repeat(255))).then([adminGrant('x'.repeat(255), ['x'.repeat(255)])], '255 characters is fine');
  });

  t.test('RevokeGroup ends the membership whoever granted it', async (t) => {
    const history = aliceHistory(recorded(adminGrant('developers', []), T1));
    const state = given(t, history)
      .when(revoke('Developers'))
      .then([
        {
          type: 'UserUpdated',
          data: {
            'user-id': USER_ID,
            changes: {},
            'groups-added': [],
            'groups-removed': ['developers'],
            grants: [],
            revocations: [
              { group: 'developers', source: fromIdp() },
              { group: 'developers', source: fromAdmin() },
            ],
          },
        },
      ]);
    t.strictSame(provisionedState(state).groups, {});
  });

  t.test('group names that are Object.prototype members are granted and revoked like any other', async (t) => {
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf']) {
      given(t, aliceHistory()).when(revoke(name)).then([], `revoke ${name}: the user does not have it`);
      const state = given(t, aliceHistory()).when(grant(name)).then([adminGrant(name, [name])], `grant ${name}`);
      const groups = provisionedState(state).groups;
      t.ok(Object.hasOwn(groups, name.toLowerCase()), `${name} is an own membership`);
      t.equal(Object.getPrototypeOf(groups), Object.prototype);
      const granted = aliceHistory(recorded(adminGrant(name, [name]), T1));
      given(t, granted).when(grant(name.toUpperCase())).then([], `grant ${name} again`);
      given(t, granted)
        .when(revoke(name))
        .then(
          [
            {
              type: 'UserUpdated',
              data: { 'user-id': USER_ID, changes: {}, 'groups-added': [], 'groups-removed': [name], grants: [], revocations: [{ group: name, source: fromAdmin() }] },
            },
          ],
          `revoke ${name}`,
        );
    }
  });

  t.test('RevokeGroup of a group the user does not have: nothing', async (t) => {
    given(t, aliceHistory()).when(revoke('admins')).then([]);
  });

  t.test('a later login under replace grants a revoked group again', async (t) => {
    const history = aliceHistory(
      recorded(
        {
          type: 'UserUpdated',
          data: { 'user-id': USER_ID, changes: {}, 'groups-added': [], 'groups-removed': ['developers'], grants: [], revocations: [{ group: 'developers', source: fromIdp() }] },
        },
        T1,
      ),
    );
    given(t, history)
      .when(handleLogin({ now: T2 }))
      .then([
        {
          type: 'UserUpdated',
          data: {
            'user-id': USER_ID,
            'idp-id': CORP,
            changes: {},
            'groups-added': ['developers'],
            'groups-removed': [],
            grants: [{ group: 'developers', source: fromIdp() }],
            revocations: [],
            'login-id': LOGIN_2,
          },
        },
        loggedIn(),
      ]);
  });
});

// -------------------------------------------------------------------------------------------
// group sync through logins
// -------------------------------------------------------------------------------------------

t.test('group sync on login', async (t) => {
  /** alice with developers (corp), ops (admin), partners (partner IdP) and staff (corp additional-groups). */
  const richHistory = () =>
    aliceHistory(
      recorded(
        {
          type: 'UserUpdated',
          data: {
            'user-id': USER_ID,
            changes: {},
            'groups-added': ['Ops'],
            'groups-removed': [],
            grants: [{ group: 'Ops', source: fromAdmin() }],
            revocations: [],
          },
        },
        T0,
      ),
      recorded(
        {
          type: 'UserUpdated',
          data: {
            'user-id': USER_ID,
            'idp-id': PARTNER,
            changes: {},
            'groups-added': ['partners'],
            'groups-removed': [],
            grants: [{ group: 'partners', source: fromIdp(PARTNER) }],
            revocations: [],
            'login-id': uuid(10),
          },
        },
        T0,
      ),
      recorded(
        {
          type: 'UserUpdated',
          data: {
            'user-id': USER_ID,
            'idp-id': CORP,
            changes: {},
            'groups-added': ['staff'],
            'groups-removed': [],
            grants: [{ group: 'staff', source: fromAdditional() }],
            revocations: [],
            'login-id': uuid(11),
          },
        },
        T0,
      ),
    );
  const update = (data: { added?: string[]; removed?: string[]; grants?: unknown[]; revocations?: unknown[] }): UserEvent =>
    ({
      type: 'UserUpdated',
      data: {
        'user-id': USER_ID,
        'idp-id': CORP,
        changes: {},
        'groups-added': data.added ?? [],
        'groups-removed': data.removed ?? [],
        grants: data.grants ?? [],
        revocations: data.revocations ?? [],
        'login-id': LOGIN_2,
      },
    }) as UserEvent;
  const corpLogin = (mode: 'replace' | 'add-only' | 'managed', mappedGroups = groups('DEVELOPERS', 'qa'), additional = ['staff']) =>
    handleLogin({ jit: { 'group-sync': mode, 'additional-groups': additional }, mapped: { groups: mappedGroups } });

  t.test('replace: leaves every group not sent, whoever granted it; case-only differences are not changes', async (t) => {
    const state = given(t, richHistory())
      .when(corpLogin('replace'))
      .then([
        update({
          added: ['qa'],
          removed: ['Ops', 'partners'],
          grants: [{ group: 'qa', source: fromIdp() }],
          revocations: [
            { group: 'Ops', source: fromAdmin() },
            { group: 'partners', source: fromIdp(PARTNER) },
          ],
        }),
        loggedIn(),
      ]);
    t.strictSame(Object.keys(provisionedState(state).groups).sort(), ['developers', 'qa', 'staff']);
  });

  t.test('replace: an admin-granted group the IdP also sends stays with both grants', async (t) => {
    given(t, richHistory())
      .when(corpLogin('replace', groups('developers', 'OPS', 'partners')))
      .then([
        update({
          grants: [
            { group: 'Ops', source: fromIdp() },
            { group: 'partners', source: fromIdp() },
          ],
        }),
        loggedIn(),
      ]);
  });

  t.test('add-only: nothing is ever removed', async (t) => {
    given(t, richHistory())
      .when(corpLogin('add-only', groups('qa'), []))
      .then([update({ added: ['qa'], grants: [{ group: 'qa', source: fromIdp() }] }), loggedIn()]);
  });

  t.test('managed: only what this IdP granted earlier leaves; admin and other IdPs stay', async (t) => {
    given(t, richHistory())
      .when(corpLogin('managed', groups('qa'), []))
      .then([
        update({
          added: ['qa'],
          removed: ['developers', 'staff'],
          grants: [{ group: 'qa', source: fromIdp() }],
          revocations: [
            { group: 'developers', source: fromIdp() },
            { group: 'staff', source: fromAdditional() },
          ],
        }),
        loggedIn(),
      ]);
  });

  t.test('managed: a group this IdP and an admin both granted loses only the IdP grant', async (t) => {
    const history = aliceHistory(
      recorded(
        { type: 'UserUpdated', data: { 'user-id': USER_ID, changes: {}, 'groups-added': [], 'groups-removed': [], grants: [{ group: 'developers', source: fromAdmin() }], revocations: [] } },
        T0,
      ),
    );
    const state = given(t, history)
      .when(corpLogin('managed', groups(), []))
      .then([update({ revocations: [{ group: 'developers', source: fromIdp() }] }), loggedIn()]);
    t.strictSame(provisionedState(state).groups['developers'], { name: 'developers', grants: [{ source: fromAdmin(), grantedAt: T0 }] });
  });

  for (const mode of ['replace', 'add-only', 'managed'] as const) {
    t.test(`${mode}: additional-groups are always kept`, async (t) => {
      const state = given(t, richHistory()).when(corpLogin(mode, groups('developers', 'Ops', 'partners'), ['Staff'])).then([
        update({
          grants: [
            { group: 'Ops', source: fromIdp() },
            { group: 'partners', source: fromIdp() },
          ],
        }),
        loggedIn(),
      ]);
      t.ok(provisionedState(state).groups['staff'], 'staff is still a membership');
    });

    t.test(`${mode}: groups not known for the login (unmapped) leave the IdP's earlier groups alone`, async (t) => {
      given(t, richHistory()).when(corpLogin(mode, UNMAPPED)).then([loggedIn()]);
    });

    t.test(`${mode}: groups missing with keep leave the IdP's earlier groups alone`, async (t) => {
      given(t, richHistory())
        .when(handleLogin({ jit: { 'group-sync': mode, 'additional-groups': ['staff'], 'on-missing-attribute': 'keep' }, mapped: { groups: missing('memberOf') } }))
        .then([loggedIn()]);
    });

    t.test(`${mode}: groups unknown, but additional-groups changed: the new additional group is granted`, async (t) => {
      const revokesStaff = mode !== 'add-only';
      given(t, richHistory())
        .when(corpLogin(mode, UNMAPPED, ['jira-users']))
        .then([
          update({
            added: ['jira-users'],
            removed: revokesStaff ? ['staff'] : [],
            grants: [{ group: 'jira-users', source: fromAdditional() }],
            revocations: revokesStaff ? [{ group: 'staff', source: fromAdditional() }] : [],
          }),
          loggedIn(),
        ]);
    });
  }

  for (const mode of ['replace', 'managed'] as const) {
    t.test(`${mode}: a group moving from asserted to additional-groups only changes provenance`, async (t) => {
      const state = given(t, aliceHistory())
        .when(corpLogin(mode, groups(), ['Developers']))
        .then([
          update({
            grants: [{ group: 'developers', source: fromAdditional() }],
            revocations: [{ group: 'developers', source: fromIdp() }],
          }),
          loggedIn(),
        ]);
      t.strictSame(provisionedState(state).groups['developers'], { name: 'developers', grants: [{ source: fromAdditional(), grantedAt: T1 }] });
    });
  }

  t.test('add-only: a group moving to additional-groups gains the provenance and keeps the old one', async (t) => {
    given(t, aliceHistory())
      .when(corpLogin('add-only', groups(), ['Developers']))
      .then([update({ grants: [{ group: 'developers', source: fromAdditional() }] }), loggedIn()]);
  });

  t.test('replace: an empty group list leaves every group (Atlassian behaviour)', async (t) => {
    given(t, richHistory())
      .when(corpLogin('replace', groups(), []))
      .then([
        update({
          removed: ['developers', 'Ops', 'partners', 'staff'],
          revocations: [
            { group: 'developers', source: fromIdp() },
            { group: 'Ops', source: fromAdmin() },
            { group: 'partners', source: fromIdp(PARTNER) },
            { group: 'staff', source: fromAdditional() },
          ],
        }),
        loggedIn(),
      ]);
  });
});

// -------------------------------------------------------------------------------------------
// evolve over produced events, and outcomeOf
// -------------------------------------------------------------------------------------------

t.test('a whole life: folding the produced events gives the expected state', async (t) => {
  let history: ReturnType<typeof recorded>[] = [];
  const run = (command: UserCommand): UserEvent[] => {
    const events = decide(command, foldUser(history));
    history = [...history, ...recordAll(events, command.metadata.now)];
    return events;
  };
  run(handleLogin({ login: { loginId: LOGIN_1, authenticatedAt: '2024-03-01T08:59:59.000Z' }, now: T0, jit: { 'additional-groups': ['staff'] } }));
  run(grant('ops'));
  run(
    handleLogin({
      idp: idpConfig({ 'link-existing-users': true, 'group-sync': 'managed' }, { id: PARTNER }),
      login: { loginId: uuid(3), idpId: PARTNER, subject: 'p-1', authenticatedAt: '2024-03-05T10:00:00.000Z' },
      mapped: { groups: groups('partners') },
      usernameOwner: USER_ID,
      link: true,
      now: '2024-03-05T10:00:01.000Z',
    }),
  );
  run(deactivate());
  const user = provisionedState(foldUser(history));
  t.strictSame(user, {
    status: 'provisioned',
    userId: USER_ID,
    username: 'alice',
    displayName: 'Alice Liddell',
    email: 'alice@example.com',
    active: false,
    idpId: CORP,
    subject: SUBJECT,
    identities: [
      { idpId: CORP, subject: SUBJECT, linkedAt: T0 },
      { idpId: PARTNER, subject: 'p-1', linkedAt: '2024-03-05T10:00:01.000Z' },
    ],
    groups: {
      developers: { name: 'developers', grants: [{ source: fromIdp(), grantedAt: T0 }] },
      staff: { name: 'staff', grants: [{ source: fromAdditional(), grantedAt: T0 }] },
      ops: { name: 'ops', grants: [{ source: fromAdmin(), grantedAt: T2 }] },
      partners: { name: 'partners', grants: [{ source: fromIdp(PARTNER), grantedAt: '2024-03-05T10:00:01.000Z' }] },
    },
    provisionedAt: T0,
    lastLoginAt: '2024-03-05T10:00:00.000Z',
    deactivatedAt: T2,
  });
});

t.test('outcomeOf', async (t) => {
  const after = (events: UserEvent[], history = aliceHistory()) => foldUser([...history, ...recordAll(events, T1)]);

  t.test('provisioned', async (t) => {
    const events = decide(handleLogin(), initialState());
    const user = provisionedState(after(events, []));
    t.strictSame(outcomeOf(events, user), {
      outcome: 'provisioned',
      userId: USER_ID,
      user: { 'user-id': USER_ID, username: 'alice', 'display-name': 'Alice Liddell', email: 'alice@example.com', groups: ['developers'], active: true },
    });
  });

  t.test('updated (field change) and updated (identity linked)', async (t) => {
    const events = decide(handleLogin({ mapped: { groups: groups('Zeta', 'alpha', 'developers') } }), foldUser(aliceHistory()));
    const outcome = outcomeOf(events, provisionedState(after(events)));
    t.equal(outcome.outcome, 'updated');
    t.strictSame(outcome.outcome !== 'rejected' && outcome.user.groups, ['alpha', 'developers', 'Zeta'], 'groups sorted case-insensitively');
    const linkEvents = decide(
      handleLogin({
        idp: idpConfig({ 'link-existing-users': true, 'group-sync': 'managed' }, { id: PARTNER }),
        login: { idpId: PARTNER, subject: 'p-1' },
        mapped: { groups: UNMAPPED },
        usernameOwner: USER_ID,
        link: true,
      }),
      foldUser(aliceHistory()),
    );
    t.strictSame(linkEvents.map((e) => e.type), ['UserIdentityLinked', 'UserLoggedIn']);
    t.equal(outcomeOf(linkEvents, provisionedState(after(linkEvents))).outcome, 'updated');
  });

  t.test('unchanged', async (t) => {
    const events = decide(handleLogin(), foldUser(aliceHistory()));
    t.strictSame(outcomeOf(events, provisionedState(after(events))), {
      outcome: 'unchanged',
      userId: USER_ID,
      user: { 'user-id': USER_ID, username: 'alice', 'display-name': 'Alice Liddell', email: 'alice@example.com', groups: ['developers'], active: true },
    });
  });

  t.test('rejected, with or without a user', async (t) => {
    const problems = [problem('mail')];
    const events = decide(handleLogin({ mapped: { email: missing('mail') } }), foldUser(aliceHistory()));
    t.strictSame(outcomeOf(events, provisionedState(foldUser(aliceHistory()))), {
      outcome: 'rejected',
      userId: USER_ID,
      reason: 'mapping-error',
      message: 'An attribute the mappings need is missing',
      problems,
    });
    const first = decide(handleLogin({ jit: { 'user-provisioning-enabled': false } }), initialState());
    t.strictSame(outcomeOf(first, undefined), {
      outcome: 'rejected',
      userId: USER_ID,
      reason: 'provisioning-disabled',
      message: 'IdP corp does not create users on login',
      problems: [],
    });
  });

  t.test('a successful login without the resulting user is a programming error', async (t) => {
    t.throws(() => outcomeOf([loggedIn()], undefined), TypeError);
  });
});

t.test('an unknown command type is a programming error', async (t) => {
  const bogus = { type: 'DeleteUser', data: {}, metadata: { now: T2 } } as unknown as UserCommand;
  given(t, aliceHistory()).when(bogus).thenThrows(TypeError);
});

t.test('fixtures sanity: the default command is a valid login of a known shape', async (t) => {
  const command = handleLogin();
  t.equal(command.data.login.loginId, LOGIN_2);
  t.strictSame(command.data.mapped, mappedLogin());
  t.equal(aliceProvisioned().type, 'UserProvisioned');
});

t.test('DeactivateUser with inactiveSince: only users not seen since then are deactivated', async (t) => {
  const { given } = await import('./testing/deciderSpec.js');
  const { randomUUID } = await import('node:crypto');
  const userId = randomUUID();
  const provisioned = {
    type: 'UserProvisioned' as const,
    data: { 'user-id': userId, 'idp-id': 'okta', subject: 's', username: 'idle', 'display-name': 'Idle', email: 'i@example.com', groups: [], grants: [], 'login-id': randomUUID() },
    recordedAt: '2026-01-01T00:00:00.000Z',
  };
  const loggedIn = {
    type: 'UserLoggedIn' as const,
    data: { 'user-id': userId, 'idp-id': 'okta', subject: 's', protocol: 'saml' as const, 'login-id': randomUUID(), 'authenticated-at': '2026-03-01T00:00:00.000Z' },
    recordedAt: '2026-03-01T00:00:00.000Z',
  };
  const deactivate = (inactiveSince: string) => ({ type: 'DeactivateUser' as const, data: { reason: 'inactive' as const, inactiveSince }, metadata: { now: '2026-06-01T00:00:00Z' } });
  given(t, [provisioned, loggedIn]).when(deactivate('2026-02-01T00:00:00Z')).then([]);
  given(t, [provisioned, loggedIn]).when(deactivate('2026-04-01T00:00:00Z')).then([{ type: 'UserDeactivated', data: { 'user-id': userId, reason: 'inactive' } }]);
  given(t, [provisioned]).when(deactivate('2025-12-01T00:00:00Z')).then([], 'provisioned after the cutoff counts as seen');
  given(t, [provisioned]).when(deactivate('2026-02-01T00:00:00Z')).then([{ type: 'UserDeactivated', data: { 'user-id': userId, reason: 'inactive' } }], 'never logged in since provisioning');
});
