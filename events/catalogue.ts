/**
 * The event catalogue: every event type, the schema its data must satisfy, its CloudEvents type
 * and which stream family it belongs to. Event data types are derived from schemas/.
 */
import type {
  EventMetadata,
  IdpCreated,
  IdpDeleted,
  IdpUpdated,
  LoginRejected,
  UserDeactivated,
  UserIdentityLinked,
  UserLoggedIn,
  UserProvisioned,
  UserReactivated,
  UserUpdated,
} from '../schemas/types.gen.js';

export type UserEvent =
  | Readonly<{ type: 'UserProvisioned'; data: UserProvisioned }>
  | Readonly<{ type: 'UserUpdated'; data: UserUpdated }>
  | Readonly<{ type: 'UserLoggedIn'; data: UserLoggedIn }>
  | Readonly<{ type: 'LoginRejected'; data: LoginRejected }>
  | Readonly<{ type: 'UserDeactivated'; data: UserDeactivated }>
  | Readonly<{ type: 'UserReactivated'; data: UserReactivated }>
  | Readonly<{ type: 'UserIdentityLinked'; data: UserIdentityLinked }>;

export type IdpEvent =
  | Readonly<{ type: 'IdpCreated'; data: IdpCreated }>
  | Readonly<{ type: 'IdpUpdated'; data: IdpUpdated }>
  | Readonly<{ type: 'IdpDeleted'; data: IdpDeleted }>;

export type DomainEvent = UserEvent | IdpEvent;
export type EventType = DomainEvent['type'];
export type EventOfType<T extends EventType> = Extract<DomainEvent, { type: T }>;

export const USER_EVENT_TYPES = [
  'UserProvisioned',
  'UserUpdated',
  'UserLoggedIn',
  'LoginRejected',
  'UserDeactivated',
  'UserReactivated',
  'UserIdentityLinked',
] as const satisfies readonly UserEvent['type'][];

export const IDP_EVENT_TYPES = ['IdpCreated', 'IdpUpdated', 'IdpDeleted'] as const satisfies readonly IdpEvent['type'][];

export const EVENT_TYPES: readonly EventType[] = [...USER_EVENT_TYPES, ...IDP_EVENT_TYPES];

/** Current schema version of every event type's data (bumped together with an upcaster). */
export const CURRENT_SCHEMA_VERSION = 1;

const SCHEMA_BASE = 'https://schemas.jit-provisioning.dev/events/';

export function eventSchemaId(type: EventType): string {
  return `${SCHEMA_BASE}${type}.schema.json`;
}

/** CloudEvents `type` attribute, e.g. jit.UserProvisioned.v1. */
export function cloudEventType(type: EventType, schemaVersion = CURRENT_SCHEMA_VERSION): string {
  return `jit.${type}.v${schemaVersion}`;
}

export function isEventType(type: string): type is EventType {
  return (EVENT_TYPES as readonly string[]).includes(type);
}

export function isUserEventType(type: string): type is UserEvent['type'] {
  return (USER_EVENT_TYPES as readonly string[]).includes(type);
}

export function userStreamId(userId: string): string {
  return `user-${userId}`;
}

export function idpStreamId(idpId: string): string {
  return `idp-${idpId}`;
}

/** Rejections of logins that failed verification (no trusted identity) go to one stream per IdP. */
export function gatewayStreamId(idpId: string): string {
  return `gateway-${idpId}`;
}

export const USER_STREAM_PREFIX = 'user-';

export type { EventMetadata };
