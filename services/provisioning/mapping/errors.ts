/**
 * Error shapes shared by parsing (configuration time) and evaluation (login time).
 * Codes are stable API: the admin UI and audit events key on them, so messages may
 * change wording but codes may not.
 */

export type ExpressionErrorCode =
  | 'unexpected-open-brace'
  | 'nested-variable'
  | 'empty-variable'
  | 'unmatched-close-brace'
  | 'unclosed-variable'
  | 'invalid-variable-name'
  | 'unknown-filter'
  | 'invalid-filter-argument'
  | 'not-supported';

/**
 * `position` is a 0-based index in UTF-16 code units (a JavaScript string index), so
 * a character outside the BMP such as an emoji counts as two. That is what browsers use
 * for `setSelectionRange`, which lets the admin UI highlight the offending character.
 */
export type ExpressionError = {
  readonly code: ExpressionErrorCode;
  readonly position: number;
  readonly message: string;
};

export type EvaluationErrorCode =
  | 'attribute-missing'
  | 'attribute-multi-valued'
  | 'claim-missing'
  | 'claim-not-string'
  | 'claim-not-string-list'
  | 'filter-failed';

/**
 * Messages name the attribute/claim but never contain its value: values are personal
 * data (e-mail addresses, names) and these messages end up in logs and audit events.
 */
export type EvaluationError = {
  readonly code: EvaluationErrorCode;
  readonly variable: string;
  readonly message: string;
};

const HEADLINE: Record<ExpressionErrorCode, string> = {
  'unexpected-open-brace': "Unexpected '{'",
  'nested-variable': 'Nested variable',
  'empty-variable': 'Empty variable',
  'unmatched-close-brace': "Unmatched '}'",
  'unclosed-variable': 'Unclosed variable',
  'invalid-variable-name': "Unexpected '$'",
  'unknown-filter': 'Unknown filter',
  'invalid-filter-argument': 'Invalid filter argument',
  'not-supported': 'Unsupported syntax',
};

export function expressionError(code: ExpressionErrorCode, position: number, detail: string): ExpressionError {
  return { code, position, message: `${HEADLINE[code]} at position ${position}: ${detail}` };
}

export function evaluationError(code: EvaluationErrorCode, variable: string, message: string): EvaluationError {
  return { code, variable, message };
}
