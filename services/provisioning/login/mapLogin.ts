/**
 * Applies an IdP's mappings to a verified login: username, display name, email and groups.
 * Absent attributes are reported as 'missing' (on-missing-attribute decides); anything else that
 * goes wrong (a claim of the wrong type, a filter that fails, a bad username) is a hard error.
 */
import type { IdpStored, LoginSucceeded, Problem } from '../../../schemas/types.gen.js';
import {
  evaluateExpression,
  parseExpression,
  resolveGroups,
  type LoginSource,
  type MappingExpression,
} from '../mapping/index.js';
import type { MappedField, MappedGroups, MappedLogin } from '../user/commands.js';
import { jitSettings } from '../user/decide.js';
import { normalizeUsername, usernameProblem } from '../user/normalize.js';

const MISSING_CODES = new Set(['attribute-missing', 'claim-missing']);
const MAX_FIELD_LENGTH = 1024;
const parsed = new Map<string, MappingExpression | Problem[]>();

/** Parses once per distinct expression (IdP configurations are few and validated on save). */
function compile(source: string): MappingExpression | Problem[] {
  let entry = parsed.get(source);
  if (!entry) {
    const result = parseExpression(source);
    entry = result.ok ? result.expression : result.errors.map((e) => ({ code: e.code, message: e.message, position: e.position }));
    if (parsed.size > 1000) parsed.clear();
    parsed.set(source, entry);
  }
  return entry;
}

export function loginSource(login: LoginSucceeded): LoginSource {
  if (login.protocol === 'saml') return { protocol: 'saml', nameId: login.subject, attributes: (login.attributes ?? {}) as Readonly<Record<string, readonly string[]>> };
  const claims = (login.claims ?? {}) as Record<string, unknown>;
  return { protocol: 'oidc', claims: Object.hasOwn(claims, 'sub') ? claims : { ...claims, sub: login.subject } };
}

export function usernameExpression(idp: IdpStored): string {
  const configured = idp['sso-type'] === 'SAML' ? idp['username-attribute'] : idp['username-claim'];
  return configured?.trim() ? configured : idp['sso-type'] === 'SAML' ? '${NameID}' : '${sub}';
}

function mapField(field: string, source: string, login: LoginSource, hard: Problem[], singleValued = false): MappedField {
  if (source.trim() === '') return { kind: 'unmapped' };
  const expression = compile(source);
  if (Array.isArray(expression)) {
    hard.push(...expression.map((p) => ({ ...p, field })));
    return { kind: 'unmapped' };
  }
  const result = evaluateExpression(expression, login, { singleValued });
  if (result.ok) {
    if (result.value.length > MAX_FIELD_LENGTH) {
      hard.push({ code: 'value-too-long', field, message: `The mapped ${field} is longer than ${MAX_FIELD_LENGTH} characters` });
    }
    return { kind: 'value', value: result.value.trim() };
  }
  const missing = result.errors.filter((e) => MISSING_CODES.has(e.code));
  hard.push(...result.errors.filter((e) => !MISSING_CODES.has(e.code)).map((e) => ({ code: e.code, field, message: e.message })));
  return { kind: 'missing', problems: missing.map((e) => ({ code: e.code, field, message: e.message })) };
}

function mapGroups(name: string, login: LoginSource, hard: Problem[]): MappedGroups {
  if (name.trim() === '') return { kind: 'unmapped' };
  const result = resolveGroups(name.trim(), login);
  if (!result.ok) {
    hard.push(...result.errors.map((e) => ({ code: e.code, field: 'groups', message: e.message })));
    return { kind: 'unmapped' };
  }
  const tooLong = result.groups.find((g) => g.length > 255);
  if (tooLong !== undefined) hard.push({ code: 'value-too-long', field: 'groups', message: 'A group name is longer than 255 characters' });
  // Atlassian: a SAML groups attribute that is absent means no groups; an absent OIDC claim is an error.
  if (result.missing && login.protocol === 'oidc') {
    return { kind: 'missing', problems: [{ code: 'claim-missing', field: 'groups', message: `Claim [${name}] could not be found` }] };
  }
  return { kind: 'value', groups: result.groups };
}

export function mapLogin(idp: IdpStored, login: LoginSucceeded): MappedLogin {
  const jit = jitSettings(idp);
  const source = loginSource(login);
  const hard: Problem[] = [];
  let username = mapField('username', usernameExpression(idp), source, hard, true);
  if (username.kind === 'value') {
    const normalized = normalizeUsername(username.value);
    const problem = usernameProblem(normalized);
    if (problem) hard.push({ code: 'invalid-username', field: 'username', message: problem });
    username = { kind: 'value', value: normalized };
  }
  const displayName = mapField('display-name', jit['mapping-display-name'], source, hard);
  const email = mapField('email', jit['mapping-email'], source, hard);
  const groups = mapGroups(jit['mapping-groups'], source, hard);
  if (hard.length > 0) return { ok: false, problems: hard };
  return { ok: true, username, displayName, email, groups };
}
