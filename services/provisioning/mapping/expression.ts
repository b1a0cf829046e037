import { expressionError } from './errors.js';
import type { ExpressionError } from './errors.js';
import { closingQuote, parseFilter } from './filters.js';
import type { Filter } from './filters.js';

/**
 * Mapping expressions: literal text with `${name}` or `${name | filter | filter:'arg'}`
 * variables, i.e. Atlassian SSO 2.0 syntax plus filters. There is no escape syntax
 * (Atlassian has none); a `$` not followed by `{` is plain text.
 *
 * Names keep Atlassian's `\$\{([^}]*)}` compatibility for everything admins really use
 * (claim URIs with `:`, `/`, `.`, spaces), but `|` now starts the filter chain and
 * `{`, `$` are rejected so that typos like `${a${b}}` are caught at save time.
 */

export type LiteralPart = { readonly kind: 'literal'; readonly text: string };

export type VariablePart = {
  readonly kind: 'variable';
  /** Trimmed attribute or claim name. */
  readonly name: string;
  readonly filters: readonly Filter[];
  /** Position of the `$` that opens the variable. */
  readonly position: number;
};

export type Part = LiteralPart | VariablePart;

/** Only `parseExpression` builds these, so every regex in it is already compiled and valid. */
export type MappingExpression = { readonly source: string; readonly parts: readonly Part[] };

export type ParseResult = { ok: true; expression: MappingExpression } | { ok: false; errors: ExpressionError[] };

type Span = { readonly start: number; readonly end: number };

type VariableScan = { readonly next: number; readonly part: VariablePart | undefined };

const opensVariable = (source: string, i: number): boolean => source[i] === '$' && source[i + 1] === '{';

/**
 * Splits variable content into the name and one span per filter. Quotes only matter
 * after the first `|`: a name like `user's mail` is legal, while a quoted regex
 * argument may contain `|`.
 */
function splitVariable(source: string, start: number, end: number): { name: Span; filters: Span[] } {
  const spans: Span[] = [];
  let spanStart = start;
  for (let i = start; i < end; i++) {
    if (source[i] === '|') {
      spans.push({ start: spanStart, end: i });
      spanStart = i + 1;
    } else if (source[i] === "'" && spans.length > 0) {
      const close = closingQuote(source, i, end);
      if (close !== -1) i = close;
    }
  }
  spans.push({ start: spanStart, end });
  const [name, ...filters] = spans;
  return { name: name ?? { start, end }, filters };
}

function parseVariable(source: string, open: number, close: number, errors: ExpressionError[]): VariablePart | undefined {
  const spans = splitVariable(source, open + 2, close);
  const name = source.slice(spans.name.start, spans.name.end).trim();
  const filters: Filter[] = [];
  let valid = true;
  if (name === '') {
    errors.push(expressionError('empty-variable', open, 'a variable needs an attribute or claim name'));
    valid = false;
  }
  for (const span of spans.filters) {
    const result = parseFilter(source.slice(span.start, span.end), span.start);
    if (result.ok) filters.push(result.filter);
    else {
      errors.push(result.error);
      valid = false;
    }
  }
  return valid ? { kind: 'variable', name, filters, position: open } : undefined;
}

/**
 * Scans from the `$` at `open` to the matching `}`. Nested `${` are counted so that
 * `${a${b}}` yields one `nested-variable` error instead of a cascade of brace errors.
 * Content is only parsed further when the scan found nothing wrong inside it, since a
 * stray brace would otherwise be reported a second time as a bad name or filter.
 */
function scanVariable(source: string, open: number, errors: ExpressionError[]): VariableScan {
  let depth = 1;
  let inFilters = false;
  let clean = true;
  for (let i = open + 2; i < source.length; i++) {
    const ch = source[i];
    if (opensVariable(source, i)) {
      errors.push(expressionError('nested-variable', i, "'${' cannot appear inside a variable"));
      clean = false;
      depth++;
      i++;
    } else if (ch === '}') {
      depth--;
      if (depth === 0) return { next: i + 1, part: clean ? parseVariable(source, open, i, errors) : undefined };
    } else if (depth > 1) {
      // Inside a nested variable: already reported, only its braces matter.
    } else if (ch === '{') {
      errors.push(expressionError('unexpected-open-brace', i, "a '{' must follow '$'"));
      clean = false;
    } else if (ch === '|') {
      inFilters = true;
    } else if (ch === '$' && !inFilters) {
      errors.push(expressionError('invalid-variable-name', i, "a variable name cannot contain '$'"));
      clean = false;
    } else if (ch === "'" && inFilters) {
      // An unterminated quote is left as a plain character; parseFilter then reports it.
      const close = closingQuote(source, i, source.length);
      if (close !== -1) i = close;
    }
  }
  errors.push(expressionError('unclosed-variable', open, "'${' has no matching '}'"));
  return { next: source.length, part: undefined };
}

/**
 * Parses and validates in one pass and reports every error found, sorted by position.
 * Never throws, whatever the input.
 */
export function parseExpression(source: string): ParseResult {
  const errors: ExpressionError[] = [];
  const parts: Part[] = [];
  let literalStart = 0;
  const flushLiteral = (end: number): void => {
    if (end > literalStart) parts.push({ kind: 'literal', text: source.slice(literalStart, end) });
  };
  let i = 0;
  while (i < source.length) {
    if (opensVariable(source, i)) {
      flushLiteral(i);
      const scan = scanVariable(source, i, errors);
      if (scan.part) parts.push(scan.part);
      i = literalStart = scan.next;
      continue;
    }
    if (source[i] === '{') errors.push(expressionError('unexpected-open-brace', i, "a '{' must follow '$'"));
    else if (source[i] === '}') errors.push(expressionError('unmatched-close-brace', i, 'no variable is open'));
    i++;
  }
  flushLiteral(source.length);
  if (errors.length > 0) return { ok: false, errors: errors.sort((a, b) => a.position - b.position) };
  return { ok: true, expression: { source, parts } };
}

/** Distinct attribute/claim names the expression reads, in order of first use. */
export function variablesOf(expression: MappingExpression): string[] {
  const names = new Set<string>();
  for (const part of expression.parts) if (part.kind === 'variable') names.add(part.name);
  return [...names];
}
