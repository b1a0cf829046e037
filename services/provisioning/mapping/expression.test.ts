import t from 'tap';
import type { ExpressionErrorCode } from './errors.js';
import { parseExpression, variablesOf } from './expression.js';
import type { MappingExpression } from './expression.js';

type Expected = readonly (readonly [ExpressionErrorCode, number])[];

const invalid: readonly (readonly [string, Expected])[] = [
  ['{x}', [['unexpected-open-brace', 0], ['unmatched-close-brace', 2]]],
  ['a{b', [['unexpected-open-brace', 1]]],
  ['${a{b}', [['unexpected-open-brace', 3]]],
  ['${a${b}}', [['nested-variable', 3]]],
  ['${a${b${c}}}', [['nested-variable', 3], ['nested-variable', 6]]],
  ['${a${b}', [['unclosed-variable', 0], ['nested-variable', 3]]],
  ['${}', [['empty-variable', 0]]],
  ['${ }', [['empty-variable', 0]]],
  ['x ${\t\n}', [['empty-variable', 2]]],
  ['${ | lower}', [['empty-variable', 0]]],
  ['${|}', [['empty-variable', 0], ['unknown-filter', 2]]],
  ['a}b', [['unmatched-close-brace', 1]]],
  ['}', [['unmatched-close-brace', 0]]],
  ['${x}}', [['unmatched-close-brace', 4]]],
  ['${abc', [['unclosed-variable', 0]]],
  ['$', []],
  ['${', [['unclosed-variable', 0]]],
  ['abc ${d} ${', [['unclosed-variable', 9]]],
  ['${a$b}', [['invalid-variable-name', 3]]],
  // A '$' inside a filter argument is fine (regex anchor) and does not count as a name char.
  ["${a | regex:'^(.*)$'}", []],
  ['${a | bogus}', [['unknown-filter', 6]]],
  ['${a |   LOWER }', [['unknown-filter', 8]]],
  ['${a | lower$}', [['unknown-filter', 6]]],
  ["${a | :'x'}", [['unknown-filter', 6]]],
  ['${a | }', [['unknown-filter', 4]]],
  ['${a || lower}', [['unknown-filter', 4]]],
  ["${a | lower:'x'}", [['invalid-filter-argument', 6]]],
  ['${a | trim x}', [['invalid-filter-argument', 6]]],
  ['${a | regex}', [['invalid-filter-argument', 6]]],
  ['${a | regex:}', [['invalid-filter-argument', 6]]],
  ['${a | regex:(x)}', [['invalid-filter-argument', 6]]],
  ['${a | regex:"(x)"}', [['invalid-filter-argument', 6]]],
  ["${a | regex:'(x)' trailing}", [['invalid-filter-argument', 6]]],
  ["${a | regex:'(x)}", [['invalid-filter-argument', 6]]],
  ["${a | regex:'(x'}", [['invalid-filter-argument', 6]]],
  ["${a | regex:'[z-a](b)'}", [['invalid-filter-argument', 6]]],
  ["${a | regex:'x'}", [['invalid-filter-argument', 6]]],
  ["${a | regex:'(?:x)'}", [['invalid-filter-argument', 6]]],
  ["${a | regex:''}", [['invalid-filter-argument', 6]]],
  // Without the 'u' flag '\-' would be a valid identity escape; with it, it is not.
  ["${a | regex:'(\\-)'}", [['invalid-filter-argument', 6]]],
  // '${' inside a quoted argument is regex text, not a nested variable (and not a valid regex).
  ["${a | regex:'${(x)}'}", [['invalid-filter-argument', 6]]],
  ['${a | lower | nope | upper | regex}', [['unknown-filter', 14], ['invalid-filter-argument', 29]]],
  // Multiple independent errors are all reported, in position order.
  ['{ ${} } ${x | nope} ${', [
    ['unexpected-open-brace', 0],
    ['empty-variable', 2],
    ['unmatched-close-brace', 6],
    ['unknown-filter', 14],
    ['unclosed-variable', 20],
  ]],
  // Positions count UTF-16 code units: é and € are one each, the emoji is two.
  ['é€😀{', [['unexpected-open-brace', 4]]],
  ['😀😀 ${}', [['empty-variable', 5]]],
];

t.test('rejects invalid expressions with exact codes and positions', async (t) => {
  for (const [source, expected] of invalid) {
    const result = parseExpression(source);
    if (expected.length === 0) {
      t.ok(result.ok, `${JSON.stringify(source)} is valid`);
      continue;
    }
    const got = result.ok ? [] : result.errors.map((e) => [e.code, e.position]);
    t.strictSame(got, expected, JSON.stringify(source));
    if (!result.ok) {
      for (const error of result.errors) {
        t.match(error.message, new RegExp(`at position ${error.position}\\b`), `${JSON.stringify(source)}: ${error.message}`);
      }
    }
  }
});

t.test('messages are human readable', async (t) => {
  const result = parseExpression('é€😀{');
  t.notOk(result.ok);
  if (!result.ok) t.equal(result.errors[0]?.message, "Unexpected '{' at position 4: a '{' must follow '$'");
  const filter = parseExpression('${mail | lowr}');
  if (!filter.ok) t.match(filter.errors[0]?.message, /'lowr' is not a filter; expected one of lower, upper, trim, localpart, domain, regex/);
  else t.fail('lowr must be rejected');
  const regex = parseExpression("${mail | regex:'('}");
  if (!regex.ok) t.match(regex.errors[0]?.message, /does not compile/);
  else t.fail('( must be rejected');
});

function parsed(source: string): MappingExpression {
  const result = parseExpression(source);
  if (!result.ok) throw new Error(`${source}: ${result.errors.map((e) => e.message).join('; ')}`);
  return result.expression;
}

t.test('parses valid expressions into parts', async (t) => {
  t.strictSame(parsed('').parts, []);
  t.strictSame(parsed('${NameID}').parts, [{ kind: 'variable', name: 'NameID', filters: [], position: 0 }]);
  t.strictSame(parsed('text ${a} more ${b}').parts, [
    { kind: 'literal', text: 'text ' },
    { kind: 'variable', name: 'a', filters: [], position: 5 },
    { kind: 'literal', text: ' more ' },
    { kind: 'variable', name: 'b', filters: [], position: 15 },
  ]);
  t.strictSame(parsed('$notavar').parts, [{ kind: 'literal', text: '$notavar' }]);
  t.strictSame(parsed('$$${x}').parts, [
    { kind: 'literal', text: '$$' },
    { kind: 'variable', name: 'x', filters: [], position: 2 },
  ]);
  t.strictSame(parsed('a$').parts, [{ kind: 'literal', text: 'a$' }]);
  t.strictSame(parsed('${a}${b}').parts.map((p) => p.kind), ['variable', 'variable']);
  t.equal(parsed('x').source, 'x');
});

t.test('names are trimmed and may be URIs, contain spaces or quotes', async (t) => {
  const uri = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress';
  t.strictSame(variablesOf(parsed(`\${${uri}}`)), [uri]);
  t.strictSame(variablesOf(parsed('${http://schemas.xmlsoap.org/claims/email}')), ['http://schemas.xmlsoap.org/claims/email']);
  t.strictSame(variablesOf(parsed('${ urn:oid:0.9.2342.19200300.100.1.3 }')), ['urn:oid:0.9.2342.19200300.100.1.3']);
  t.strictSame(variablesOf(parsed('${  first name\t}')), ['first name']);
  // Quotes are only special after the first '|', so this is an ordinary name.
  t.strictSame(variablesOf(parsed("${user's mail | lower}")), ["user's mail"]);
});

t.test('filters are parsed in order with their arguments', async (t) => {
  const [part] = parsed("${ mail | trim|lower |  localpart | domain | upper | regex : '^(.+)$' }").parts;
  if (part?.kind !== 'variable') throw new Error('expected a variable');
  t.equal(part.name, 'mail');
  t.strictSame(part.filters.map((f) => f.name), ['trim', 'lower', 'localpart', 'domain', 'upper', 'regex']);
  const regex = part.filters[5];
  t.equal(regex?.name === 'regex' ? regex.pattern : undefined, '^(.+)$');
});

t.test('regex arguments: quoting and escaping', async (t) => {
  const pattern = (source: string): string | undefined => {
    const [part] = parsed(source).parts;
    const filter = part?.kind === 'variable' ? part.filters[0] : undefined;
    return filter?.name === 'regex' ? filter.pattern : undefined;
  };
  t.equal(pattern("${a | regex:'it\\'s (\\w+)'}"), "it's (\\w+)", "\\' becomes a quote");
  t.equal(pattern("${a | regex:'(a|b)'}"), '(a|b)', '| inside quotes does not split filters');
  t.equal(pattern("${a | regex:'(\\d{3})'}"), '(\\d{3})', 'braces inside quotes are not expression braces');
  t.equal(pattern("${a | regex:'(x)\\\\'}"), '(x)\\\\', 'an escaped backslash before the closing quote');
  t.equal(pattern("${a | regex:'(?<user>[^@]+)@'}"), '(?<user>[^@]+)@', 'named groups count');
});

t.test('variablesOf lists distinct names in order of first use', async (t) => {
  t.strictSame(variablesOf(parsed('${b}-${a | lower}-${b | upper}-${NameID}')), ['b', 'a', 'NameID']);
  t.strictSame(variablesOf(parsed('no variables')), []);
  t.strictSame(variablesOf(parsed('')), []);
});
