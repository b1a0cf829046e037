import { evaluationError } from './errors.js';
import type { EvaluationError } from './errors.js';
import type { MappingExpression } from './expression.js';
import { applyFilter } from './filters.js';
import { ownValue } from './login.js';
import type { LoginSource } from './login.js';

export type EvaluateOptions = {
  /**
   * Atlassian resolves the username with Guava's `getOnlyElement`: a multi-valued SAML
   * attribute is an error there rather than silently taking the first value, because
   * picking one of several values could log the person in as someone else.
   */
  readonly singleValued?: boolean;
};

export type EvaluationResult = { ok: true; value: string } | { ok: false; errors: EvaluationError[] };

type Resolved = { ok: true; value: string } | { ok: false; error: EvaluationError };

// SAML only: Atlassian matches `${NameID}` case-insensitively, and it wins over an
// attribute that happens to be called "NameID".
const NAME_ID = /^nameid$/i;

export function resolveVariable(name: string, login: LoginSource, options: EvaluateOptions = {}): Resolved {
  if (login.protocol === 'saml') {
    if (NAME_ID.test(name)) return { ok: true, value: login.nameId };
    const values = ownValue(login.attributes, name);
    const first = values?.[0];
    if (values === undefined || first === undefined) {
      return { ok: false, error: evaluationError('attribute-missing', name, `Attribute [${name}] could not be found`) };
    }
    if (options.singleValued === true && values.length > 1) {
      const message = `Attribute [${name}] has ${values.length} values but must have exactly one`;
      return { ok: false, error: evaluationError('attribute-multi-valued', name, message) };
    }
    return { ok: true, value: first };
  }
  const claim = ownValue(login.claims, name);
  if (claim === undefined || claim === null) {
    return { ok: false, error: evaluationError('claim-missing', name, `Claim [${name}] could not be found`) };
  }
  if (typeof claim !== 'string') {
    return { ok: false, error: evaluationError('claim-not-string', name, `Claim [${name}] was not of type String`) };
  }
  return { ok: true, value: claim };
}

/**
 * Substitutes every variable and applies its filters left to right. All variables are
 * tried so the admin sees every missing attribute at once; an identical error from a
 * repeated variable is reported once.
 */
export function evaluateExpression(
  expression: MappingExpression,
  login: LoginSource,
  options: EvaluateOptions = {},
): EvaluationResult {
  const errors = new Map<string, EvaluationError>();
  const addError = (error: EvaluationError): void => {
    errors.set(`${error.code}\u0000${error.variable}\u0000${error.message}`, error);
  };
  let value = '';
  for (const part of expression.parts) {
    if (part.kind === 'literal') {
      value += part.text;
      continue;
    }
    const resolved = resolveVariable(part.name, login, options);
    if (!resolved.ok) {
      addError(resolved.error);
      continue;
    }
    let current = resolved.value;
    for (const filter of part.filters) {
      const result = applyFilter(filter, current);
      if (!result.ok) {
        addError(evaluationError('filter-failed', part.name, `Filter [${filter.name}] failed on [${part.name}]: ${result.reason}`));
        break;
      }
      current = result.value;
    }
    value += current;
  }
  return errors.size > 0 ? { ok: false, errors: [...errors.values()] } : { ok: true, value };
}
