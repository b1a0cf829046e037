/**
 * The User decider: pure rules turning a command and the current state into events.
 * No I/O, no clock, no random ids: everything arrives in the command.
 */
import type { UserEvent } from '../../../events/catalogue.js';
import type { IdpStored, JitConfiguration, Problem, RejectionReason } from '../../../schemas/types.gen.js';
import type { DeactivateUser, GrantGroup, HandleLogin, MappedField, MappedLogin, RevokeGroup, UserCommand } from './commands.js';
import { UserStateError } from './commands.js';
import { planGroupSync } from './groupSync.js';
import { normalizeGroupName, normalizeUsername, uniqueGroups, usernameKey, usernameProblem } from './normalize.js';
import { membershipOf, type ProvisionedUser, type UserState } from './userState.js';

/** maxLength of display-name/email and of GroupName in schemas/. */
const MAX_FIELD_LENGTH = 1024;
const MAX_GROUP_NAME_LENGTH = 255;

export type ResolvedJitConfiguration = Required<Omit<JitConfiguration, 'deactivate-after-days'>> &
  Pick<JitConfiguration, 'deactivate-after-days'>;

/** The IdP's jit-configuration with every default applied. */
export function jitSettings(idp: IdpStored): ResolvedJitConfiguration {
  const jit = idp['jit-configuration'];
  return {
    'user-provisioning-enabled': jit['user-provisioning-enabled'] ?? false,
    'mapping-display-name': jit['mapping-display-name'] ?? '',
    'mapping-email': jit['mapping-email'] ?? '',
    'mapping-groups': jit['mapping-groups'] ?? '',
    'additional-openid-scopes': jit['additional-openid-scopes'] ?? [],
    'additional-groups': jit['additional-groups'] ?? [],
    'group-sync': jit['group-sync'] ?? 'replace',
    'link-existing-users': jit['link-existing-users'] ?? false,
    'on-missing-attribute': jit['on-missing-attribute'] ?? 'reject',
    ...(jit['deactivate-after-days'] === undefined ? {} : { 'deactivate-after-days': jit['deactivate-after-days'] }),
  };
}

export function decide(command: UserCommand, state: UserState): UserEvent[] {
  const { type } = command;
  switch (type) {
    case 'HandleLogin':
      return handleLogin(command, state);
    case 'DeactivateUser':
      return deactivate(command, requireUser(state));
    case 'ReactivateUser': {
      const user = requireUser(state);
      if (user.active) return [];
      const comment = command.data.comment;
      return [{ type: 'UserReactivated', data: { 'user-id': user.userId, ...(comment ? { comment } : {}) } }];
    }
    case 'GrantGroup':
      return grantGroup(command, requireUser(state));
    case 'RevokeGroup':
      return revokeGroup(command, requireUser(state));
    default: {
      const unreachable: never = type;
      throw new TypeError(`unknown command ${String(unreachable)}`);
    }
  }
}

function requireUser(state: UserState): ProvisionedUser {
  if (state.status !== 'provisioned') throw new UserStateError('user-not-found', 'no such user');
  return state;
}

function reject(command: HandleLogin, reason: RejectionReason, message: string, problems: readonly Problem[] = [], username?: string): UserEvent[] {
  const { login, userId } = command.data;
  return [
    {
      type: 'LoginRejected',
      data: {
        'user-id': userId,
        'idp-id': login.idpId,
        subject: login.subject,
        ...(username === undefined ? {} : { username }),
        reason,
        message,
        problems: [...problems].slice(0, 50),
        'login-id': login.loginId,
      },
    },
  ];
}

function handleLogin(command: HandleLogin, state: UserState): UserEvent[] {
  const { idp, mapped, login, userId } = command.data;
  if (!idp.enabled) return reject(command, 'idp-disabled', `IdP ${idp.id} is disabled`);
  if (!mapped.ok) return reject(command, 'mapping-error', 'The login could not be mapped to a user', mapped.problems);
  const jit = jitSettings(idp);
  const keep = jit['on-missing-attribute'] === 'keep';
  const missing = [mapped.username, mapped.displayName, mapped.email, mapped.groups].flatMap((f) => (f.kind === 'missing' ? f.problems : []));
  const mustReject = missing.length > 0 && (!keep || (state.status === 'unknown' && mapped.username.kind === 'missing'));
  if (mustReject) return reject(command, 'mapping-error', 'An attribute the mappings need is missing', missing);

  // The stored spelling of a username is NFKC and trimmed (normalize.ts); whatever the mapping
  // produced is normalized and checked here so that no event ever carries an unusable username.
  const mappedUsername = mapped.username.kind === 'value' ? normalizeUsername(mapped.username.value) : undefined;
  if (mappedUsername !== undefined) {
    const problem = usernameProblem(mappedUsername);
    if (problem !== undefined) {
      return reject(command, 'mapping-error', 'The mapped username is not acceptable', [{ code: 'invalid-username', message: problem, field: 'username' }]);
    }
  }
  const tooLong = lengthProblems(mapped);
  if (tooLong.length > 0) return reject(command, 'mapping-error', 'A mapped value is too long', tooLong);
  const owner = command.data.usernameOwner;
  const usernameTaken = owner !== undefined && owner !== userId;

  if (state.status === 'unknown') {
    // A missing username was rejected above; an unmapped one must not become an empty username.
    if (mappedUsername === undefined) {
      return reject(command, 'mapping-error', 'The login has no username', [
        { code: 'username-unmapped', message: 'No username could be mapped for this login', field: 'username' },
      ]);
    }
    const username = mappedUsername;
    if (usernameTaken) {
      return reject(command, 'username-conflict', `The username ${username} belongs to another user`, [], username);
    }
    if (!jit['user-provisioning-enabled']) {
      return reject(command, 'provisioning-disabled', `IdP ${idp.id} does not create users on login`, [], username);
    }
    const asserted = mapped.groups.kind === 'value' ? uniqueGroups(mapped.groups.groups) : [];
    const plan = planGroupSync({ memberships: {}, idpId: idp.id, mode: jit['group-sync'], asserted, additional: jit['additional-groups'] });
    return [
      {
        type: 'UserProvisioned',
        data: {
          'user-id': userId,
          'idp-id': idp.id,
          subject: login.subject,
          username,
          'display-name': valueOr(mapped.displayName, username),
          email: valueOr(mapped.email, ''),
          groups: plan.added,
          grants: plan.grants,
          'login-id': login.loginId,
        },
      },
      loggedIn(command),
    ];
  }

  const events: UserEvent[] = [];
  const known = state.identities.some((i) => i.idpId === login.idpId && i.subject === login.subject);
  if (!known) {
    // A new identity only joins an existing user when its IdP opted in (link-existing-users) and
    // its mapped username is that user's: a silent takeover never happens.
    const mayLink =
      command.data.link &&
      jit['link-existing-users'] &&
      mappedUsername !== undefined &&
      usernameKey(mappedUsername) === usernameKey(state.username);
    if (!mayLink) {
      return reject(command, 'username-conflict', `The identity ${login.idpId}/${login.subject} may not be linked to user ${state.username}`, [], state.username);
    }
  }
  if (!state.active) return reject(command, 'user-deactivated', `User ${state.username} is deactivated`, [], state.username);
  if (!known) {
    events.push({
      type: 'UserIdentityLinked',
      data: { 'user-id': state.userId, 'idp-id': login.idpId, subject: login.subject, username: state.username, 'login-id': login.loginId },
    });
  }

  const changes: { username?: { from: string; to: string }; 'display-name'?: { from: string; to: string }; email?: { from: string; to: string } } = {};
  if (mappedUsername !== undefined && mappedUsername !== state.username) {
    if (usernameKey(mappedUsername) !== usernameKey(state.username) && usernameTaken) {
      return reject(command, 'username-conflict', `The username ${mappedUsername} belongs to another user`, [], mappedUsername);
    }
    changes.username = { from: state.username, to: mappedUsername };
  }
  if (mapped.displayName.kind === 'value' && mapped.displayName.value !== state.displayName) {
    changes['display-name'] = { from: state.displayName, to: mapped.displayName.value };
  }
  if (mapped.email.kind === 'value' && mapped.email.value !== state.email) {
    changes.email = { from: state.email, to: mapped.email.value };
  }
  const plan = planGroupSync({
    memberships: state.groups,
    idpId: idp.id,
    mode: jit['group-sync'],
    asserted: mapped.groups.kind === 'value' ? mapped.groups.groups : undefined,
    additional: jit['additional-groups'],
  });
  if (Object.keys(changes).length > 0 || plan.grants.length > 0 || plan.revocations.length > 0) {
    events.push({
      type: 'UserUpdated',
      data: {
        'user-id': state.userId,
        'idp-id': idp.id,
        changes,
        'groups-added': plan.added,
        'groups-removed': plan.removed,
        grants: plan.grants,
        revocations: plan.revocations,
        'login-id': login.loginId,
      },
    });
  }
  events.push(loggedIn(command));
  return events;
}

/** Mapped values the event schemas cannot carry (JSON Schema maxLength counts code points). */
function lengthProblems(mapped: Extract<MappedLogin, { ok: true }>): Problem[] {
  const codePoints = (text: string) => [...text].length;
  const problems: Problem[] = [];
  for (const [field, value] of [['display-name', mapped.displayName], ['email', mapped.email]] as const) {
    if (value.kind === 'value' && codePoints(value.value) > MAX_FIELD_LENGTH) {
      problems.push({ code: 'value-too-long', message: `the mapped ${field} is longer than ${MAX_FIELD_LENGTH} characters`, field });
    }
  }
  if (mapped.groups.kind === 'value') {
    const long = uniqueGroups(mapped.groups.groups).filter((g) => codePoints(g) > MAX_GROUP_NAME_LENGTH).length;
    if (long > 0) {
      problems.push({ code: 'value-too-long', message: `${long} group name(s) are longer than ${MAX_GROUP_NAME_LENGTH} characters`, field: 'groups' });
    }
  }
  return problems;
}

function valueOr(field: MappedField, fallback: string): string {
  return field.kind === 'value' ? field.value : fallback;
}

function loggedIn(command: HandleLogin): UserEvent {
  const { login, userId } = command.data;
  return {
    type: 'UserLoggedIn',
    data: {
      'user-id': userId,
      'idp-id': login.idpId,
      subject: login.subject,
      protocol: login.protocol,
      'login-id': login.loginId,
      'authenticated-at': login.authenticatedAt,
    },
  };
}

/** When the user was last seen: the last login, or the provisioning for a user who never logged in. */
export function lastSeen(user: ProvisionedUser): string {
  return user.lastLoginAt ?? user.provisionedAt;
}

function deactivate(command: DeactivateUser, user: ProvisionedUser): UserEvent[] {
  if (!user.active) return [];
  const { reason, comment, inactiveSince } = command.data;
  if (inactiveSince !== undefined && Date.parse(lastSeen(user)) >= Date.parse(inactiveSince)) return [];
  return [{ type: 'UserDeactivated', data: { 'user-id': user.userId, reason, ...(comment ? { comment } : {}) } }];
}

function checkGroupName(raw: string): string {
  const name = normalizeGroupName(raw);
  if (name.length === 0 || name.length > 255) throw new UserStateError('invalid-group', 'a group name needs 1 to 255 characters');
  return name;
}

function grantGroup(command: GrantGroup, user: ProvisionedUser): UserEvent[] {
  const name = checkGroupName(command.data.group);
  const membership = membershipOf(user.groups, name);
  if (membership?.grants.some((g) => g.source.type === 'admin')) return [];
  return [
    {
      type: 'UserUpdated',
      data: {
        'user-id': user.userId,
        changes: {},
        'groups-added': membership ? [] : [name],
        'groups-removed': [],
        grants: [{ group: membership?.name ?? name, source: { type: 'admin' } }],
        revocations: [],
      },
    },
  ];
}

/** An administrator ends the membership whoever granted it; a later login may grant it again. */
function revokeGroup(command: RevokeGroup, user: ProvisionedUser): UserEvent[] {
  const membership = membershipOf(user.groups, checkGroupName(command.data.group));
  if (!membership) return [];
  return [
    {
      type: 'UserUpdated',
      data: {
        'user-id': user.userId,
        changes: {},
        'groups-added': [],
        'groups-removed': [membership.name],
        grants: [],
        revocations: membership.grants.map((g) => ({ group: membership.name, source: g.source })),
      },
    },
  ];
}
