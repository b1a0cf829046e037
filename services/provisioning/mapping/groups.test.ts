import t from 'tap';
import { resolveGroups, validateGroupsMapping } from './groups.js';
import type { LoginSource } from './login.js';

const saml = (attributes: Record<string, readonly string[]>): LoginSource => ({ protocol: 'saml', nameId: 'n', attributes });
const oidc = (claims: Record<string, unknown>): LoginSource => ({ protocol: 'oidc', claims });

t.test('validateGroupsMapping', async (t) => {
  const cases: readonly (readonly [string, readonly number[]])[] = [
    ['groups', []],
    ['', []],
    ['http://schemas.xmlsoap.org/claims/Group', []],
    ['$groups', []],
    ['${groups}', [0, 8]],
    ['{groups}', [0, 7]],
    ['memberOf}', [8]],
    ['a${b', [1]],
    ['😀{', [2]],
  ];
  for (const [name, positions] of cases) {
    const errors = validateGroupsMapping(name);
    t.strictSame(errors.map((e) => e.position), positions, JSON.stringify(name));
    t.ok(errors.every((e) => e.code === 'not-supported'), `${JSON.stringify(name)} codes`);
  }
  t.equal(
    validateGroupsMapping('${g}')[0]?.message,
    "Unsupported syntax at position 0: '${' is not allowed; the groups mapping is a plain attribute or claim name, not an expression",
  );
  t.match(validateGroupsMapping('g}')[0]?.message, /^Unsupported syntax at position 1: '}' is not allowed/);
});

t.test('SAML groups: all values, trimmed, empties dropped, deduplicated ignoring case', async (t) => {
  const login = saml({ memberOf: [' Admins ', 'devs', '', '   ', 'ADMINS', 'Devs', 'ops'], none: [] });
  t.strictSame(resolveGroups('memberOf', login), { ok: true, groups: ['Admins', 'devs', 'ops'], missing: false });
  t.strictSame(resolveGroups('  memberOf ', login), { ok: true, groups: ['Admins', 'devs', 'ops'], missing: false }, 'name trimmed');
  t.strictSame(resolveGroups('none', login), { ok: true, groups: [], missing: false }, 'zero values is present');
  t.strictSame(resolveGroups('MEMBEROF', login), { ok: true, groups: [], missing: true }, 'names are exact-case');
  t.strictSame(resolveGroups('absent', login), { ok: true, groups: [], missing: true });
  t.strictSame(resolveGroups('NameID', login), { ok: true, groups: [], missing: true }, 'no NameID special case');
});

t.test('empty mapping name means no groups, not missing', async (t) => {
  t.strictSame(resolveGroups('', saml({ '': ['x'] })), { ok: true, groups: [], missing: false });
  t.strictSame(resolveGroups('  ', oidc({})), { ok: true, groups: [], missing: false });
});

t.test('OIDC groups', async (t) => {
  const login = oidc({ groups: ['a', 'B', 'b', ' c '], one: 'solo', blank: ' ', emptyList: [], nul: null, n: 1, obj: { a: 'b' }, mixed: ['a', 2], nested: [['a']] });
  t.strictSame(resolveGroups('groups', login), { ok: true, groups: ['a', 'B', 'c'], missing: false });
  t.strictSame(resolveGroups('one', login), { ok: true, groups: ['solo'], missing: false });
  t.strictSame(resolveGroups('blank', login), { ok: true, groups: [], missing: false });
  t.strictSame(resolveGroups('emptyList', login), { ok: true, groups: [], missing: false });
  t.strictSame(resolveGroups('absent', login), { ok: true, groups: [], missing: true });
  t.strictSame(resolveGroups('nul', login), { ok: true, groups: [], missing: true });
  for (const name of ['n', 'obj', 'mixed', 'nested']) {
    t.strictSame(resolveGroups(name, login), {
      ok: false,
      errors: [{ code: 'claim-not-string-list', variable: name, message: `Claim [${name}] was not of type String or list of String` }],
    }, name);
  }
  // eslint-disable-next-line no-sparse-arrays
  t.strictSame(resolveGroups('holes', oidc({ holes: [, 'a'] })).ok, false, 'a sparse array is not a list of strings');
});

t.test('prototype members never resolve as groups', async (t) => {
  for (const name of ['__proto__', 'constructor', 'toString']) {
    t.strictSame(resolveGroups(name, saml({})), { ok: true, groups: [], missing: true }, `saml ${name}`);
    t.strictSame(resolveGroups(name, oidc({})), { ok: true, groups: [], missing: true }, `oidc ${name}`);
  }
  const claims = JSON.parse('{"__proto__": ["g"]}') as Record<string, unknown>;
  t.strictSame(resolveGroups('__proto__', oidc(claims)), { ok: true, groups: ['g'], missing: false });
});
