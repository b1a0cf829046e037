import { evaluationError, expressionError } from './errors.js';
import type { EvaluationError, ExpressionError } from './errors.js';
import { ownValue } from './login.js';
import type { LoginSource } from './login.js';

/**
 * The groups mapping (`mapping-groups`) is a plain attribute/claim name whose values are
 * all taken, not an expression: an expression yields one string, groups are a list.
 * Braces are rejected so that an admin who writes `${groups}` learns that at save time
 * instead of getting no groups at every login.
 */

export type GroupsResult = { ok: true; groups: string[]; missing: boolean } | { ok: false; errors: EvaluationError[] };

const NOT_AN_EXPRESSION = 'the groups mapping is a plain attribute or claim name, not an expression';

export function validateGroupsMapping(name: string): ExpressionError[] {
  const errors: ExpressionError[] = [];
  for (let i = 0; i < name.length; i++) {
    if (name[i] === '$' && name[i + 1] === '{') {
      errors.push(expressionError('not-supported', i, `'\${' is not allowed; ${NOT_AN_EXPRESSION}`));
      i++;
    } else if (name[i] === '{' || name[i] === '}') {
      errors.push(expressionError('not-supported', i, `'${name[i] ?? ''}' is not allowed; ${NOT_AN_EXPRESSION}`));
    }
  }
  return errors;
}

/**
 * Trimmed, empties dropped, deduplicated ignoring case with the first spelling kept:
 * IdPs (notably AD FS) repeat groups with differing case, and the directory treats group
 * names case-insensitively anyway.
 */
function normalize(values: readonly string[]): string[] {
  const seen = new Set<string>();
  const groups: string[] = [];
  for (const raw of values) {
    const group = raw.trim();
    const key = group.toLowerCase();
    if (group === '' || seen.has(key)) continue;
    seen.add(key);
    groups.push(group);
  }
  return groups;
}

// for-of rather than every(): every() skips holes, which would let [, 'a'] through.
function isStringList(value: unknown): value is string[] {
  if (!Array.isArray(value)) return false;
  for (const item of value as unknown[]) if (typeof item !== 'string') return false;
  return true;
}

/**
 * `missing: true` means the IdP did not send the attribute/claim at all; whether that
 * means "no groups" or "leave groups alone" is the caller's policy. A SAML attribute sent
 * with zero values is present and therefore means "no groups". The name is trimmed; an
 * empty name means the IdP configuration maps no groups.
 */
export function resolveGroups(name: string, login: LoginSource): GroupsResult {
  const key = name.trim();
  if (key === '') return { ok: true, groups: [], missing: false };
  if (login.protocol === 'saml') {
    const values = ownValue(login.attributes, key);
    return values === undefined ? { ok: true, groups: [], missing: true } : { ok: true, groups: normalize(values), missing: false };
  }
  const claim = ownValue(login.claims, key);
  if (claim === undefined || claim === null) return { ok: true, groups: [], missing: true };
  if (typeof claim === 'string') return { ok: true, groups: normalize([claim]), missing: false };
  if (isStringList(claim)) return { ok: true, groups: normalize(claim), missing: false };
  const message = `Claim [${key}] was not of type String or list of String`;
  return { ok: false, errors: [evaluationError('claim-not-string-list', key, message)] };
}
