import fc from 'fast-check';
import t from 'tap';
import { groupKey, normalizeGroupName, normalizeUsername, uniqueGroups, usernameKey, usernameProblem } from './normalize.js';

t.test('normalizeUsername: NFKC and trimmed, case kept', async (t) => {
  t.equal(normalizeUsername('ａｌｉｃｅ'), 'alice', 'full-width letters become ASCII');
  t.equal(normalizeUsername('ＡＬＩＣＥ'), 'ALICE', 'case is kept in the stored spelling');
  t.equal(normalizeUsername('  alice\t\n'), 'alice', 'ASCII whitespace trimmed');
  t.equal(normalizeUsername('\u3000alice\u00a0'), 'alice', 'ideographic space and no-break space trimmed');
  t.equal(normalizeUsername('alice smith'), 'alice smith', 'inner spaces kept');
  t.equal(normalizeUsername('ﬁona'), 'fiona', 'compatibility ligature decomposed');
  t.equal(normalizeUsername('Cafe\u0301'), 'Café', 'combining sequence composed');
  t.equal(normalizeUsername('Café'), 'Café');
});

t.test('usernameKey: NFKC, trimmed, lower-cased', async (t) => {
  t.equal(usernameKey('ａｌｉｃｅ'), 'alice', 'full-width ａｌｉｃｅ has the key alice');
  t.equal(usernameKey(' ＡＬＩＣＥ '), 'alice');
  t.equal(usernameKey('Alice'), usernameKey('alice'), 'case-only differences share a key');
  t.equal(usernameKey('Cafe\u0301'), usernameKey('CAFÉ'), 'canonically equivalent spellings share a key');
  t.not(usernameKey('alice'), usernameKey('alice2'));
  t.not(usernameKey('ali ce'), usernameKey('alice'), 'inner whitespace is significant');
});

t.test('groupKey and normalizeGroupName follow the same rules', async (t) => {
  t.equal(normalizeGroupName('  Developers '), 'Developers');
  t.equal(groupKey('Developers'), 'developers');
  t.equal(groupKey('ＤＥＶＥＬＯＰＥＲＳ'), groupKey('developers'));
  t.equal(groupKey(' jira-users\u3000'), 'jira-users');
});

t.test('usernameProblem', async (t) => {
  t.equal(usernameProblem(''), 'the mapped username is empty');
  t.equal(usernameProblem('a'.repeat(256)), 'the mapped username is longer than 255 characters');
  t.equal(usernameProblem('a'.repeat(255)), undefined, '255 characters are fine');
  for (const [label, bad] of [
    ['NUL', 'ali\u0000ce'],
    ['tab', 'ali\tce'],
    ['newline', 'alice\nroot'],
    ['carriage return', 'alice\r'],
    ['DEL', 'alice\u007f'],
    ['C1 control', 'alice\u0085'],
    ['zero-width space', 'alice\u200b'],
    ['right-to-left override', '\u202eecila'],
    ['soft hyphen', 'al\u00adice'],
    ['byte order mark', '\ufeffalice'],
    ['line separator', 'alice\u2028'],
    ['paragraph separator', 'alice\u2029'],
  ] as const) {
    t.equal(usernameProblem(bad), 'the mapped username contains control or invisible characters', label);
  }
  for (const good of ['alice', 'Alice.Liddell@example.com', 'alice smith', 'алиса', '愛麗絲', 'o\u0027brien', 'bob-🙂']) {
    t.equal(usernameProblem(good), undefined, `${JSON.stringify(good)} is acceptable`);
  }
});

t.test('uniqueGroups: de-duplicates by key, keeps the first spelling and the order, drops empty names', async (t) => {
  t.strictSame(uniqueGroups(['Developers', ' qa ', 'developers', '', '   ', 'ＱＡ', 'ops']), ['Developers', 'qa', 'ops']);
  t.strictSame(uniqueGroups([]), []);
  t.strictSame(uniqueGroups(new Set(['b', 'a', 'B'])), ['b', 'a'], 'any iterable');
});

// -------------------------------------------------------------------------------------------
// properties
// -------------------------------------------------------------------------------------------

const anyString = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 12 }));
const RUNS = { numRuns: 2000 };

t.test('property: normalizeUsername is idempotent and its result is trimmed NFKC', async (t) => {
  fc.assert(
    fc.property(anyString, (s) => {
      const n = normalizeUsername(s);
      return normalizeUsername(n) === n && n === n.trim() && n === n.normalize('NFKC');
    }),
    RUNS,
  );
  t.pass('idempotent');
});

t.test('property: usernameKey is idempotent and ignores normalization of the input', async (t) => {
  fc.assert(
    fc.property(anyString, (s) => usernameKey(usernameKey(s)) === usernameKey(s) && usernameKey(normalizeUsername(s)) === usernameKey(s)),
    RUNS,
  );
  t.pass('stable keys');
});

t.test('property: groupKey is idempotent (a key looked up again is the same key)', async (t) => {
  fc.assert(fc.property(anyString, (s) => groupKey(groupKey(s)) === groupKey(s) && groupKey(normalizeGroupName(s)) === groupKey(s)), RUNS);
  for (const tricky of ['H\u0331', 'h\u0331', '\u1e96', '\u3381', 'ǅ', 'İ', '\u212a']) t.equal(groupKey(groupKey(tricky)), groupKey(tricky), JSON.stringify(tricky));
  t.equal(groupKey('H\u0331'), groupKey('\u1e96'), 'spellings that meet after lower-casing share a key');
});

t.test('property: ASCII usernames differing only in case or surrounding spaces share a key', async (t) => {
  const ascii = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_@'), minLength: 1, maxLength: 20 });
  fc.assert(
    fc.property(ascii, fc.constantFrom('', ' ', '\t', '\u3000'), (s, pad) => usernameKey(`${pad}${s.toUpperCase()}${pad}`) === usernameKey(s.toLowerCase())),
    RUNS,
  );
  t.pass('case-insensitive');
});

t.test('property: full-width ASCII letters and digits have the key of their ASCII twins', async (t) => {
  const ascii = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'), minLength: 1, maxLength: 20 });
  const fullWidth = (s: string) => [...s].map((c) => String.fromCodePoint(c.codePointAt(0)! + 0xfee0)).join('');
  fc.assert(
    fc.property(ascii, (s) => usernameKey(fullWidth(s)) === usernameKey(s) && groupKey(fullWidth(s)) === groupKey(s)),
    RUNS,
  );
  t.pass('NFKC folds full-width forms');
});

t.test('property: uniqueGroups yields distinct keys, all non-empty, normalized, and is idempotent', async (t) => {
  fc.assert(
    fc.property(fc.array(anyString, { maxLength: 10 }), (names) => {
      const unique = uniqueGroups(names);
      const keys = unique.map(groupKey);
      return (
        new Set(keys).size === keys.length &&
        unique.every((n) => n.length > 0 && normalizeGroupName(n) === n) &&
        JSON.stringify(uniqueGroups(unique)) === JSON.stringify(unique) &&
        names.every((n) => normalizeGroupName(n) === '' || keys.includes(groupKey(n)))
      );
    }),
    RUNS,
  );
  t.pass('unique groups');
});
