import t from 'tap';
import type { EvaluationErrorCode } from './errors.js';
import { evaluateExpression } from './evaluate.js';
import type { EvaluateOptions, EvaluationResult } from './evaluate.js';
import { parseExpression } from './expression.js';
import type { LoginSource } from './login.js';

const saml = (attributes: Record<string, readonly string[]>, nameId = 'Jane.Doe@Example.com'): LoginSource => ({
  protocol: 'saml',
  nameId,
  attributes,
});
const oidc = (claims: Record<string, unknown>): LoginSource => ({ protocol: 'oidc', claims });

function evaluate(source: string, login: LoginSource, options?: EvaluateOptions): EvaluationResult {
  const parsed = parseExpression(source);
  if (!parsed.ok) throw new Error(`${source}: ${parsed.errors.map((e) => e.message).join('; ')}`);
  return evaluateExpression(parsed.expression, login, options);
}

const value = (source: string, login: LoginSource, options?: EvaluateOptions): string | undefined => {
  const result = evaluate(source, login, options);
  return result.ok ? result.value : undefined;
};

const errorsOf = (source: string, login: LoginSource, options?: EvaluateOptions): [EvaluationErrorCode, string, string][] => {
  const result = evaluate(source, login, options);
  return result.ok ? [] : result.errors.map((e) => [e.code, e.variable, e.message]);
};

const user = saml({ mail: ['  Jane.Doe@Example.COM ', 'second@example.com'], uid: ['jdoe'], empty: [], blank: [''] });

t.test('SAML: NameID is matched case-insensitively', async (t) => {
  for (const name of ['NameID', 'nameid', 'NAMEID', 'nameId', ' NameID ']) {
    t.equal(value(`\${${name}}`, user), 'Jane.Doe@Example.com', name);
  }
  t.equal(value('${NameID}', saml({ NameID: ['attribute'] }, 'subject')), 'subject', 'NameID wins over a same-named attribute');
  t.strictSame(errorsOf('${Name ID}', user), [['attribute-missing', 'Name ID', 'Attribute [Name ID] could not be found']]);
});

t.test('SAML: attributes give their first value, exact-case names', async (t) => {
  t.equal(value('${uid}', user), 'jdoe');
  t.equal(value('${mail}', user), '  Jane.Doe@Example.COM ');
  t.equal(value('${blank}', user), '', 'an empty first value is a value; emptiness is the caller\'s policy');
  t.equal(value('u-${uid}-${ uid }!', user), 'u-jdoe-jdoe!');
  t.equal(value('', user), '');
  t.equal(value('$uid', user), '$uid');
  t.strictSame(errorsOf('${UID}', user), [['attribute-missing', 'UID', 'Attribute [UID] could not be found']]);
  t.strictSame(errorsOf('${empty}', user), [['attribute-missing', 'empty', 'Attribute [empty] could not be found']]);
});

t.test('SAML: URI attribute names', async (t) => {
  const uri = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress';
  t.equal(value(`\${${uri} | lower}`, saml({ [uri]: ['A@B.C'] })), 'a@b.c');
});

t.test('all errors across variables are reported, duplicates once', async (t) => {
  t.strictSame(errorsOf('${a} ${uid} ${b} ${a}', user), [
    ['attribute-missing', 'a', 'Attribute [a] could not be found'],
    ['attribute-missing', 'b', 'Attribute [b] could not be found'],
  ]);
  t.strictSame(
    errorsOf('${uid | domain} ${nope} ${NameID | regex:\'^(\\d+)\'}', user).map(([code, variable]) => [code, variable]),
    [['filter-failed', 'uid'], ['attribute-missing', 'nope'], ['filter-failed', 'NameID']],
  );
});

t.test('single-valued option (username mapping)', async (t) => {
  t.equal(value('${mail}', user), '  Jane.Doe@Example.COM ', 'without the option the first value is used');
  t.strictSame(errorsOf('${mail}', user, { singleValued: true }), [
    ['attribute-multi-valued', 'mail', 'Attribute [mail] has 2 values but must have exactly one'],
  ]);
  t.equal(value('${uid}', user, { singleValued: true }), 'jdoe');
  t.equal(value('${NameID}', user, { singleValued: true }), 'Jane.Doe@Example.com');
  t.strictSame(errorsOf('${empty}', user, { singleValued: true }).map(([c]) => c), ['attribute-missing']);
  t.equal(value('${mail}', user, { singleValued: false }), '  Jane.Doe@Example.COM ');
});

t.test('OIDC claims must be strings', async (t) => {
  const login = oidc({ email: 'a@b.c', n: 42, b: true, arr: ['x'], obj: { x: 'y' }, nul: null, und: undefined, s: '' });
  t.equal(value('${email}', login), 'a@b.c');
  t.equal(value('[${s}]', login), '[]');
  const notString = (name: string): [EvaluationErrorCode, string, string] => ['claim-not-string', name, `Claim [${name}] was not of type String`];
  const missing = (name: string): [EvaluationErrorCode, string, string] => ['claim-missing', name, `Claim [${name}] could not be found`];
  for (const name of ['n', 'b', 'arr', 'obj']) t.strictSame(errorsOf(`\${${name}}`, login), [notString(name)], name);
  for (const name of ['nul', 'und', 'absent', 'EMAIL']) t.strictSame(errorsOf(`\${${name}}`, login), [missing(name)], name);
});

t.test('OIDC has no NameID special case', async (t) => {
  t.strictSame(errorsOf('${NameID}', oidc({ sub: 'x' })), [['claim-missing', 'NameID', 'Claim [NameID] could not be found']]);
  t.equal(value('${NameID}', oidc({ NameID: 'claimed' })), 'claimed');
  t.strictSame(errorsOf('${nameid}', oidc({ NameID: 'claimed' })).map(([c]) => c), ['claim-missing']);
});

t.test('prototype members never resolve', async (t) => {
  const names = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'];
  for (const name of names) {
    t.strictSame(errorsOf(`\${${name}}`, saml({})).map(([c]) => c), ['attribute-missing'], `saml ${name}`);
    t.strictSame(errorsOf(`\${${name}}`, oidc({})).map(([c]) => c), ['claim-missing'], `oidc ${name}`);
  }
  // Own properties with those names (as JSON.parse creates them) do resolve.
  const attributes = JSON.parse('{"__proto__": ["p"], "constructor": ["c"]}') as Record<string, string[]>;
  t.equal(value('${__proto__}-${constructor}', saml(attributes)), 'p-c');
  const claims = JSON.parse('{"__proto__": "p", "toString": "t"}') as Record<string, unknown>;
  t.equal(value('${__proto__}-${toString}', oidc(claims)), 'p-t');
  t.equal(value('${x}', saml(Object.assign(Object.create(null) as Record<string, string[]>, { x: ['v'] }))), 'v', 'null-prototype records work');
});

t.test('every filter through evaluation', async (t) => {
  const login = saml({ mail: ['  Jane.Doe@Example.COM '], plain: ['jdoe'], long: ['a'.repeat(1025)] });
  t.equal(value('${mail | lower}', login), '  jane.doe@example.com ');
  t.equal(value('${mail | upper}', login), '  JANE.DOE@EXAMPLE.COM ');
  t.equal(value('${mail | trim}', login), 'Jane.Doe@Example.COM');
  t.equal(value('${mail | localpart}', login), '  Jane.Doe');
  t.equal(value('${mail | domain}', login), 'Example.COM ');
  t.equal(value('${plain | localpart}', login), 'jdoe');
  t.equal(value("${mail | regex:'(\\w+)\\.'}", login), 'Jane');
  t.equal(value("${NameID | regex:'^([^@]+)@' | lower}", login), 'jane.doe');
  t.equal(value("${plain | regex:'(?:it\\'s )?(j)'}", login), 'j', 'escaped quote in pattern');
  t.equal(value("${plain | regex:'(d\\'s)|(j)' | upper}", saml({ plain: ["d's"] })), "D'S");
});

t.test('filters chain left to right', async (t) => {
  const login = saml({ mail: ['  Jane.Doe@Example.COM '] });
  t.equal(value('${ mail | trim | lower | localpart }', login), 'jane.doe');
  t.equal(value('${mail | domain | trim | lower}', login), 'example.com');
  t.equal(value('${mail | lower | upper}', login), '  JANE.DOE@EXAMPLE.COM ');
  t.equal(value("${mail | trim | regex:'^(.)'}.${mail | trim | regex:'\\.(\\w+)@' | lower}", login), 'J.doe');
  // Order matters: localpart before domain leaves no '@'.
  t.strictSame(errorsOf('${mail | localpart | domain}', login), [
    ['filter-failed', 'mail', "Filter [domain] failed on [mail]: the value has no '@'"],
  ]);
});

t.test('filter failures', async (t) => {
  const login = saml({ plain: ['jdoe'], long: ['a'.repeat(1025)] });
  t.strictSame(errorsOf('${plain | domain}', login), [['filter-failed', 'plain', "Filter [domain] failed on [plain]: the value has no '@'"]]);
  t.strictSame(errorsOf("${plain | regex:'^(\\d+)$'}", login), [
    ['filter-failed', 'plain', 'Filter [regex] failed on [plain]: the pattern did not match'],
  ]);
  t.strictSame(errorsOf("${long | regex:'(a)'}", login).map(([c]) => c), ['filter-failed']);
  t.equal(value("${long | trim | regex:'^(a)'}", saml({ long: [` ${'a'.repeat(1024)} `] })), 'a', 'cap applies to the filtered value');
  const failed = evaluate('${plain | domain}', login);
  t.notMatch(failed.ok ? '' : failed.errors[0]?.message ?? '', /jdoe/, 'messages do not leak values');
});
