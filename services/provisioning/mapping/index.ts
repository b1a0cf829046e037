export { parseExpression, variablesOf } from './expression.js';
export type { LiteralPart, MappingExpression, ParseResult, Part, VariablePart } from './expression.js';
export { evaluateExpression, resolveVariable } from './evaluate.js';
export type { EvaluateOptions, EvaluationResult } from './evaluate.js';
export { resolveGroups, validateGroupsMapping } from './groups.js';
export type { GroupsResult } from './groups.js';
export { FILTER_NAMES, MAX_REGEX_INPUT_LENGTH } from './filters.js';
export type { Filter, FilterName } from './filters.js';
export type {
  EvaluationError,
  EvaluationErrorCode,
  ExpressionError,
  ExpressionErrorCode,
} from './errors.js';
export type { LoginSource } from './login.js';
