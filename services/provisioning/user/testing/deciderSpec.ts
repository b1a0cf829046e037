/**
 * A tiny given/when/then helper for the User decider, plus fixtures shared by the decider tests.
 *
 *   given(t, [recorded(provisioned(), T0)])
 *     .when(login({ ... }))
 *     .then([ ...expected events ]);
 *
 * `given` folds the history with `evolve` from `initialState()`; `then` compares what `decide`
 * produced with the expected events (tap `strictSame`, so an `undefined` field is not the same
 * as an absent one) and also checks that every produced event's data is valid against its JSON
 * schema, survives a JSON round trip unchanged, that `decide` left the state untouched and
 * answers the same when asked twice. It returns the state after folding the produced events
 * (recordedAt = the command's `metadata.now`), for tests that go on checking `evolve`.
 */
import { inspect } from 'node:util';
import type { Test } from 'tap';
import type { UserEvent } from '../../../../events/catalogue.js';
import { eventDataProblems } from '../../../../events/validate.js';
import type { IdpStored, JitConfiguration, LoginSucceeded, Problem } from '../../../../schemas/types.gen.js';
import type { HandleLogin, MappedField, MappedGroups, MappedLogin, UserCommand } from '../commands.js';
import { decide } from '../decide.js';
import { evolve, initialState, type EvolvableUserEvent, type UserState } from '../userState.js';

// ---------------------------------------------------------------------------------------------
// given / when / then
// ---------------------------------------------------------------------------------------------

export type Then = {
  /** Asserts the exact events; returns the state after folding history + produced events. */
  then(expected: readonly UserEvent[], message?: string): UserState;
  /** Asserts that decide throws an instance of errorClass (with that `code`, when given). */
  thenThrows(errorClass: abstract new (...args: never[]) => Error, code?: string, message?: string): void;
};

export type When = {
  /** The state folded from the given events. */
  readonly state: UserState;
  when(command: UserCommand): Then;
};

/** Events the decider produced, as the store would record them at `at`. */
export function recordAll(events: readonly UserEvent[], at: string): EvolvableUserEvent[] {
  return events.map((e) => recorded(e, at));
}

const INSPECT = { depth: null, showHidden: false, breakLength: Infinity } as const;

export function given(t: Test, history: readonly EvolvableUserEvent[]): When {
  const state = history.reduce(evolve, initialState());
  return {
    state,
    when(command: UserCommand): Then {
      return {
        then(expected, message = `${command.type} decides the expected events`) {
          const before = structuredClone(state);
          const produced = decide(command, state);
          t.strictSame(produced, expected, message);
          for (const [i, event] of produced.entries()) {
            t.strictSame(eventDataProblems(event.type, event.data), [], `event ${i} (${event.type}) data is valid against its schema`);
          }
          t.strictSame(JSON.parse(JSON.stringify(produced)) as unknown, produced, 'events survive a JSON round trip unchanged');
          // Compared as printed: tap's strictSame reads an own "constructor" key (a group of that name) as the class.
          t.equal(inspect(state, INSPECT), inspect(before, INSPECT), 'decide does not mutate the state');
          t.strictSame(decide(command, state), produced, 'decide is deterministic');
          return recordAll(produced, command.metadata.now).reduce(evolve, state);
        },
        thenThrows(errorClass, code, message = `${command.type} throws ${errorClass.name}${code ? ` (${code})` : ''}`) {
          let caught: unknown;
          try {
            decide(command, state);
          } catch (error) {
            caught = error;
          }
          t.ok(caught instanceof errorClass, message);
          if (code !== undefined) {
            const actual = typeof caught === 'object' && caught !== null && 'code' in caught ? caught.code : undefined;
            t.equal(actual, code, `${message}: error code`);
          }
        },
      };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// fixtures
// ---------------------------------------------------------------------------------------------

export const USER_ID = '6c0f4f3e-1b7a-5d2e-9a41-0c6b1e2f3a4b';
export const OTHER_USER_ID = '9d3b2a10-44c1-5e6f-8b7a-112233445566';
export const CORP = 'corp';
export const PARTNER = 'partner';
export const SUBJECT = 'alice@corp.example';

export const T0 = '2024-03-01T09:00:00.000Z';
export const T1 = '2024-03-02T10:00:00.000Z';
export const T2 = '2024-03-03T11:00:00.000Z';
export const T3 = '2024-03-04T12:00:00.000Z';

/** A deterministic, schema-valid UUID per number. */
export function uuid(n: number): string {
  return `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}

export const LOGIN_1 = uuid(1);
export const LOGIN_2 = uuid(2);

export function recorded(event: UserEvent, recordedAt: string): EvolvableUserEvent {
  return { ...event, recordedAt } as EvolvableUserEvent;
}

export function idpConfig(jit: JitConfiguration = {}, overrides: Partial<IdpStored> = {}): IdpStored {
  return {
    id: CORP,
    name: 'Corp',
    'sso-type': 'SAML',
    enabled: true,
    'jit-configuration': { 'user-provisioning-enabled': true, ...jit },
    ...overrides,
  };
}

export function loginSucceeded(overrides: Partial<LoginSucceeded> = {}): LoginSucceeded {
  return {
    loginId: LOGIN_2,
    idpId: CORP,
    protocol: 'saml',
    subject: SUBJECT,
    attributes: {},
    authenticatedAt: '2024-03-02T09:59:58.000Z',
    ...overrides,
  };
}

export const value = (v: string): MappedField => ({ kind: 'value', value: v });
export const UNMAPPED: MappedField & MappedGroups = { kind: 'unmapped' };
export const groups = (...names: string[]): MappedGroups => ({ kind: 'value', groups: names });

export function problem(field: string): Problem {
  return { code: 'attribute-missing', message: `The attribute ${field} is missing`, field };
}
export const missing = (field: string): MappedField & MappedGroups => ({ kind: 'missing', problems: [problem(field)] });

export type MappedOverrides = Partial<{ username: MappedField; displayName: MappedField; email: MappedField; groups: MappedGroups }>;

export function mappedLogin(overrides: MappedOverrides = {}): MappedLogin {
  return {
    ok: true,
    username: value('alice'),
    displayName: value('Alice Liddell'),
    email: value('alice@example.com'),
    groups: groups('developers'),
    ...overrides,
  };
}

export type LoginOptions = Partial<{
  idp: IdpStored;
  jit: JitConfiguration;
  login: Partial<LoginSucceeded>;
  mapped: MappedLogin | MappedOverrides;
  userId: string;
  usernameOwner: string | undefined;
  link: boolean;
  now: string;
}>;

/** A HandleLogin command; by default a SAML login of alice through an enabled `corp` IdP. */
export function handleLogin(options: LoginOptions = {}): HandleLogin {
  const mapped = options.mapped && 'ok' in options.mapped ? options.mapped : mappedLogin(options.mapped);
  return {
    type: 'HandleLogin',
    data: {
      login: loginSucceeded(options.login),
      idp: options.idp ?? idpConfig(options.jit),
      mapped,
      userId: options.userId ?? USER_ID,
      usernameOwner: 'usernameOwner' in options ? options.usernameOwner : undefined,
      link: options.link ?? false,
    },
    metadata: { now: options.now ?? T1 },
  };
}

export const fromIdp = (idpId: string = CORP) => ({ type: 'idp', 'idp-id': idpId }) as const;
export const fromAdditional = (idpId: string = CORP) => ({ type: 'additional-groups', 'idp-id': idpId }) as const;
export const fromAdmin = () => ({ type: 'admin' }) as const;

/** alice, provisioned through corp with the asserted group `developers`. */
export function aliceProvisioned(overrides: Partial<Extract<UserEvent, { type: 'UserProvisioned' }>['data']> = {}): UserEvent {
  return {
    type: 'UserProvisioned',
    data: {
      'user-id': USER_ID,
      'idp-id': CORP,
      subject: SUBJECT,
      username: 'alice',
      'display-name': 'Alice Liddell',
      email: 'alice@example.com',
      groups: ['developers'],
      grants: [{ group: 'developers', source: fromIdp() }],
      'login-id': LOGIN_1,
      ...overrides,
    },
  };
}

export function loggedIn(overrides: Partial<Extract<UserEvent, { type: 'UserLoggedIn' }>['data']> = {}): UserEvent {
  return {
    type: 'UserLoggedIn',
    data: {
      'user-id': USER_ID,
      'idp-id': CORP,
      subject: SUBJECT,
      protocol: 'saml',
      'login-id': LOGIN_2,
      'authenticated-at': '2024-03-02T09:59:58.000Z',
      ...overrides,
    },
  };
}

/** A provisioned alice (recorded at T0) with optional further history. */
export function aliceHistory(...more: EvolvableUserEvent[]): EvolvableUserEvent[] {
  return [recorded(aliceProvisioned(), T0), ...more];
}
