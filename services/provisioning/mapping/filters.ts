import { expressionError } from './errors.js';
import type { ExpressionError } from './errors.js';

/**
 * Regexes only ever run on at most this many UTF-16 code units; longer values fail the
 * filter instead. This bounds polynomial backtracking (e.g. `(a*)*b`-style patterns that
 * are quadratic or cubic) to something negligible per login. It does NOT make
 * exponential patterns such as `^(a+)+$` safe: 1024 characters is plenty for those to
 * hang. Patterns are written by administrators, not by users, so this is a guard against
 * accidents with long IdP values, not against a hostile pattern author.
 */
export const MAX_REGEX_INPUT_LENGTH = 1024;

export type SimpleFilterName = 'lower' | 'upper' | 'trim' | 'localpart' | 'domain';

export type Filter =
  | { readonly name: SimpleFilterName }
  | { readonly name: 'regex'; readonly pattern: string; readonly regex: RegExp };

export type FilterName = Filter['name'];

export const FILTER_NAMES: readonly FilterName[] = ['lower', 'upper', 'trim', 'localpart', 'domain', 'regex'];

export type FilterParseResult = { ok: true; filter: Filter } | { ok: false; error: ExpressionError };

export type FilterResult = { ok: true; value: string } | { ok: false; reason: string };

const EXAMPLE = "regex:'^([^@]+)@'";

function isFilterName(name: string): name is FilterName {
  return (FILTER_NAMES as readonly string[]).includes(name);
}

/**
 * Index of the quote closing the one at `open`, or -1. A backslash always consumes the
 * next character, so `\\` followed by `'` still closes: that keeps `'a\\'` (a pattern
 * ending in an escaped backslash) expressible.
 */
export function closingQuote(text: string, open: number, limit: number): number {
  for (let i = open + 1; i < limit; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === "'") return i;
  }
  return -1;
}

/**
 * Only `\'` is unescaped; every other backslash pair is handed to RegExp untouched so
 * `\d`, `\.` and `\\` keep their regex meaning. (`\'` itself must go: with the `u` flag
 * RegExp rejects it as an identity escape.)
 */
function unescapeQuotes(body: string): string {
  return body.replace(/\\([\s\S])/g, (pair, next: string) => (next === "'" ? "'" : pair));
}

function captureGroupCount(pattern: string): number {
  // An empty alternative always matches '', and the result has one slot per group.
  const probe = new RegExp(`(?:${pattern})|`, 'u').exec('');
  return (probe?.length ?? 1) - 1;
}

function compileRegex(argument: string | undefined, position: number): FilterParseResult {
  const invalid = (detail: string): FilterParseResult => ({
    ok: false,
    error: expressionError('invalid-filter-argument', position, detail),
  });
  if (argument === undefined || argument === '') {
    return invalid(`filter 'regex' needs a quoted pattern with a capture group, e.g. ${EXAMPLE}`);
  }
  if (!argument.startsWith("'") || closingQuote(argument, 0, argument.length) !== argument.length - 1) {
    return invalid(`the pattern of filter 'regex' must be enclosed in single quotes (write \\' for a quote inside it), e.g. ${EXAMPLE}`);
  }
  const pattern = unescapeQuotes(argument.slice(1, -1));
  let regex: RegExp;
  try {
    regex = new RegExp(pattern, 'u');
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return invalid(`the pattern of filter 'regex' does not compile: ${reason}`);
  }
  if (captureGroupCount(pattern) < 1) {
    return invalid(`the pattern of filter 'regex' needs a capture group whose match becomes the value, e.g. ${EXAMPLE}`);
  }
  return { ok: true, filter: { name: 'regex', pattern, regex } };
}

/**
 * Parses the text between two `|` (or between `|` and `}`). `rawStart` is the position
 * of the first character after the `|`, so errors can point into the source.
 */
export function parseFilter(raw: string, rawStart: number): FilterParseResult {
  const text = raw.trim();
  const position = rawStart + raw.length - raw.trimStart().length;
  if (text === '') {
    // Nothing to point at but the '|' that promised a filter.
    return { ok: false, error: expressionError('unknown-filter', rawStart - 1, "a '|' must be followed by a filter name") };
  }
  const nameEnd = text.search(/[\s:]/u);
  const name = nameEnd === -1 ? text : text.slice(0, nameEnd);
  const rest = nameEnd === -1 ? '' : text.slice(nameEnd).trimStart();
  if (!isFilterName(name)) {
    const what = name === '' ? 'a filter name is missing' : `'${name}' is not a filter`;
    return {
      ok: false,
      error: expressionError('unknown-filter', position, `${what}; expected one of ${FILTER_NAMES.join(', ')}`),
    };
  }
  if (rest !== '' && !rest.startsWith(':')) {
    return {
      ok: false,
      error: expressionError('invalid-filter-argument', position, `unexpected text after filter '${name}'; an argument is written as ${EXAMPLE}`),
    };
  }
  const argument = rest === '' ? undefined : rest.slice(1).trim();
  if (name === 'regex') return compileRegex(argument, position);
  if (argument !== undefined) {
    return { ok: false, error: expressionError('invalid-filter-argument', position, `filter '${name}' takes no argument`) };
  }
  return { ok: true, filter: { name } };
}

export function applyFilter(filter: Filter, value: string): FilterResult {
  switch (filter.name) {
    case 'lower':
      return { ok: true, value: value.toLowerCase() };
    case 'upper':
      return { ok: true, value: value.toUpperCase() };
    case 'trim':
      return { ok: true, value: value.trim() };
    case 'localpart': {
      // Last '@': a quoted local part ("a@b"@example.com) may itself contain '@'.
      const at = value.lastIndexOf('@');
      return { ok: true, value: at === -1 ? value : value.slice(0, at) };
    }
    case 'domain': {
      const at = value.lastIndexOf('@');
      return at === -1 ? { ok: false, reason: "the value has no '@'" } : { ok: true, value: value.slice(at + 1) };
    }
    case 'regex': {
      if (value.length > MAX_REGEX_INPUT_LENGTH) {
        return { ok: false, reason: `the value is longer than ${MAX_REGEX_INPUT_LENGTH} characters` };
      }
      const match = filter.regex.exec(value);
      const group = match?.[1];
      if (group !== undefined) return { ok: true, value: group };
      // A group that did not take part (e.g. '(a)|b' on "b") is not silently turned into "".
      return { ok: false, reason: match ? 'the first capture group did not take part in the match' : 'the pattern did not match' };
    }
  }
}
