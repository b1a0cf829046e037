/**
 * Commands of the User aggregate. Time arrives in metadata; ids are assigned outside the decider.
 */
import type { IdpStored, LoginSucceeded, Problem } from '../../../schemas/types.gen.js';

/** A mapped attribute: its value, absent at the IdP (policy decides), or not configured. */
export type MappedField =
  | Readonly<{ kind: 'value'; value: string }>
  | Readonly<{ kind: 'missing'; problems: readonly Problem[] }>
  | Readonly<{ kind: 'unmapped' }>;

export type MappedGroups =
  | Readonly<{ kind: 'value'; groups: readonly string[] }>
  | Readonly<{ kind: 'missing'; problems: readonly Problem[] }>
  | Readonly<{ kind: 'unmapped' }>;

/** What the IdP's mappings made of a login; `ok: false` for errors no policy can excuse. */
export type MappedLogin =
  | Readonly<{ ok: true; username: MappedField; displayName: MappedField; email: MappedField; groups: MappedGroups }>
  | Readonly<{ ok: false; problems: readonly Problem[] }>;

export type CommandMetadata = Readonly<{ now: string }>;

export type HandleLogin = Readonly<{
  type: 'HandleLogin';
  data: Readonly<{
    login: LoginSucceeded;
    idp: IdpStored;
    mapped: MappedLogin;
    /** The stream's user id (derived from the identity, or the linked user's). */
    userId: string;
    /** Who holds the mapped username now, if anyone. */
    usernameOwner: string | undefined;
    /** This login's identity is new and is being linked to this existing user (link-existing-users). */
    link: boolean;
  }>;
  metadata: CommandMetadata;
}>;

export type DeactivateUser = Readonly<{
  type: 'DeactivateUser';
  data: Readonly<{
    reason: 'admin' | 'inactive';
    comment?: string;
    /**
     * Inactivity policy: deactivate only if the user has not logged in (or, never having logged
     * in, was not provisioned) since this instant. Re-checked here, so a login that lands between
     * the policy's preview and its run keeps the user active.
     */
    inactiveSince?: string;
  }>;
  metadata: CommandMetadata;
}>;

export type ReactivateUser = Readonly<{ type: 'ReactivateUser'; data: Readonly<{ comment?: string }>; metadata: CommandMetadata }>;

export type GrantGroup = Readonly<{ type: 'GrantGroup'; data: Readonly<{ group: string }>; metadata: CommandMetadata }>;

export type RevokeGroup = Readonly<{ type: 'RevokeGroup'; data: Readonly<{ group: string }>; metadata: CommandMetadata }>;

export type UserCommand = HandleLogin | DeactivateUser | ReactivateUser | GrantGroup | RevokeGroup;

/** A command that makes no sense for the state it meets (e.g. deactivating an unknown user). */
export class UserStateError extends Error {
  readonly code: 'user-not-found' | 'invalid-group';
  constructor(code: 'user-not-found' | 'invalid-group', message: string) {
    super(message);
    this.name = 'UserStateError';
    this.code = code;
  }
}
