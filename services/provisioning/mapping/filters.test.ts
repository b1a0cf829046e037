import t from 'tap';
import { applyFilter, closingQuote, MAX_REGEX_INPUT_LENGTH, parseFilter } from './filters.js';
import type { Filter, FilterResult } from './filters.js';

function filter(text: string): Filter {
  const result = parseFilter(text, 0);
  if (!result.ok) throw new Error(result.error.message);
  return result.filter;
}

const run = (text: string, value: string): FilterResult => applyFilter(filter(text), value);

t.test('simple filters', async (t) => {
  const cases: readonly (readonly [string, string, string])[] = [
    ['lower', 'JöRG@Example.COM', 'jörg@example.com'],
    ['upper', 'jörg@example.com', 'JÖRG@EXAMPLE.COM'],
    ['trim', ' \t a b \n', 'a b'],
    ['trim', '\u00a0x\u2003', 'x'],
    ['localpart', 'jane.doe@example.com', 'jane.doe'],
    ['localpart', '"a@b"@example.com', '"a@b"'],
    ['localpart', 'no-at-sign', 'no-at-sign'],
    ['localpart', '@example.com', ''],
    ['domain', 'jane.doe@example.com', 'example.com'],
    ['domain', '"a@b"@example.com', 'example.com'],
    ['domain', 'jane@', ''],
  ];
  for (const [name, input, expected] of cases) {
    t.strictSame(run(name, input), { ok: true, value: expected }, `${name}(${JSON.stringify(input)})`);
  }
});

t.test('lower and upper do not depend on the process locale', async (t) => {
  // Under a Turkish locale toLocaleUpperCase('i') is 'İ'; usernames must not change with the host.
  t.strictSame(run('upper', 'i'), { ok: true, value: 'I' });
  t.strictSame(run('lower', 'I'), { ok: true, value: 'i' });
});

t.test('domain without @ fails', async (t) => {
  t.strictSame(run('domain', 'jane'), { ok: false, reason: "the value has no '@'" });
  t.strictSame(run('domain', ''), { ok: false, reason: "the value has no '@'" });
});

t.test('regex returns the first group of the first match', async (t) => {
  t.strictSame(run("regex:'^([^@]+)@'", 'jane@example.com'), { ok: true, value: 'jane' });
  t.strictSame(run("regex:'(\\d+)'", 'a12b345'), { ok: true, value: '12' });
  t.strictSame(run("regex:'(a)(b)'", 'ab'), { ok: true, value: 'a' });
  t.strictSame(run("regex:'(?<name>\\w+)'", '--bob--'), { ok: true, value: 'bob' });
  t.strictSame(run("regex:'^(.*)$'", ''), { ok: true, value: '' }, 'an empty group is a match');
  t.strictSame(run("regex:'it\\'s (\\w+)'", "it's me"), { ok: true, value: 'me' });
  t.strictSame(run("regex:'(\\p{Lu}+)'", 'abcÄÖÜdef'), { ok: true, value: 'ÄÖÜ' }, 'the u flag is on');
  t.strictSame(run("regex:'^(.)'", '😀x'), { ok: true, value: '😀' }, 'u flag: . is a code point');
});

t.test('regex failures', async (t) => {
  t.strictSame(run("regex:'^(\\d+)$'", 'abc'), { ok: false, reason: 'the pattern did not match' });
  t.strictSame(run("regex:'(a)|b'", 'b'), { ok: false, reason: 'the first capture group did not take part in the match' });
});

t.test('regex input length is capped', async (t) => {
  const f = filter("regex:'^(a+)$'");
  t.strictSame(applyFilter(f, 'a'.repeat(MAX_REGEX_INPUT_LENGTH)), { ok: true, value: 'a'.repeat(MAX_REGEX_INPUT_LENGTH) });
  t.strictSame(applyFilter(f, 'a'.repeat(MAX_REGEX_INPUT_LENGTH + 1)), {
    ok: false,
    reason: `the value is longer than ${MAX_REGEX_INPUT_LENGTH} characters`,
  });
});

t.test('a compiled regex is reused without state between calls', async (t) => {
  const f = filter("regex:'(\\d)'");
  t.strictSame([applyFilter(f, 'x1'), applyFilter(f, '2'), applyFilter(f, 'y3')].map((r) => (r.ok ? r.value : '')), ['1', '2', '3']);
});

t.test('parseFilter reports positions relative to the text it was given', async (t) => {
  const result = parseFilter('   nope ', 10);
  t.strictSame(result.ok ? undefined : [result.error.code, result.error.position], ['unknown-filter', 13]);
  const empty = parseFilter('  ', 10);
  t.strictSame(empty.ok ? undefined : [empty.error.code, empty.error.position], ['unknown-filter', 9], 'points at the |');
});

t.test('closingQuote', async (t) => {
  t.equal(closingQuote("'abc'", 0, 5), 4);
  t.equal(closingQuote("'a\\'c'", 0, 6), 5, 'escaped quote is skipped');
  t.equal(closingQuote("'a\\\\'", 0, 5), 4, 'escaped backslash then quote closes');
  t.equal(closingQuote("'abc", 0, 4), -1);
  t.equal(closingQuote("'ab'c", 0, 3), -1, 'respects the limit');
});
