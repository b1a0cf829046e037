import fc from 'fast-check';
import t from 'tap';
import { safeReturnTo } from './returnTo.js';

const policy = { publicUrl: 'https://jira.example.com', allowlist: ['https://confluence.example.com'] };
const allowedOrigins = new Set(['https://jira.example.com', 'https://confluence.example.com']);

t.test('accepted targets', async (t) => {
  const cases: [string, string][] = [
    ['/secure/Dashboard.jspa?x=1#top', 'https://jira.example.com/secure/Dashboard.jspa?x=1#top'],
    ['/', 'https://jira.example.com/'],
    ['https://jira.example.com/browse/ABC-1', 'https://jira.example.com/browse/ABC-1'],
    ['https://confluence.example.com/wiki', 'https://confluence.example.com/wiki'],
    ['HTTPS://CONFLUENCE.EXAMPLE.COM/x', 'https://confluence.example.com/x'],
    ['/%2F%2Fevil.com', 'https://jira.example.com/%2F%2Fevil.com'],
    // A path that resolves to `//evil.com` is answered as an absolute URL on our origin.
    ['/a/../..//evil.com', 'https://jira.example.com//evil.com'],
  ];
  for (const [input, expected] of cases) t.equal(safeReturnTo(input, policy), expected, input);
});

t.test('refused targets fall back to /', async (t) => {
  const attacks = [
    '//evil.com',
    '///evil.com',
    '/\\evil.com',
    '\\\\evil.com',
    'https://evil.com',
    'https://jira.example.com.evil.com/',
    'https://jira.example.com@evil.com/',
    'https://user:pw@jira.example.com/',
    'http://jira.example.com/',
    'javascript:alert(1)',
    'JaVaScRiPt:alert(1)',
    'data:text/html,<script>alert(1)</script>',
    'evil.com',
    '/x\r\nSet-Cookie: a=b',
    '/x\nLocation: https://evil.com',
    '/\t/evil.com',
    ' /x',
    '/x ',
    '/x\u0000',
    '/x\u0085',
    `/${'a'.repeat(3000)}`,
    '',
  ];
  for (const attack of attacks) t.equal(safeReturnTo(attack, policy), '/', JSON.stringify(attack));
  for (const notString of [undefined, null, 42, ['/x'], { href: '/x' }]) t.equal(safeReturnTo(notString, policy), '/', String(notString));
});

t.test('whatever the input, the target is / or an allowed origin, without control characters', async () => {
  const prefixes = fc.constantFrom('', '/', '//', '/\\', 'https://', 'http://', 'https://jira.example.com', 'https://confluence.example.com', 'javascript:', '\\', '%2f');
  const input = fc.oneof(fc.string({ unit: 'binary', maxLength: 80 }), fc.webUrl(), fc.tuple(prefixes, fc.string({ maxLength: 40 })).map(([p, s]) => p + s));
  fc.assert(
    fc.property(input, (candidate) => {
      const target = safeReturnTo(candidate, policy);
      if (target === '/') return true;
      if (/[\p{Cc}\p{Z}\\]/u.test(target)) return false;
      const url = new URL(target);
      return allowedOrigins.has(url.origin) && url.username === '' && url.password === '' && target === url.href;
    }),
    { numRuns: 5000 },
  );
});
