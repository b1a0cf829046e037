/** The contract every OneTimeTokens adapter passes. */
import type { Test } from 'tap';
import type { OneTimeTokens } from './oneTimeTokens.js';

export type OneTimeTokensFactory = (now: () => Date) => Promise<{ tokens: OneTimeTokens; cleanup: () => Promise<void> }>;

export function testOneTimeTokensContract(t: Test, name: string, factory: OneTimeTokensFactory): void {
  t.test(`${name}: remembers once, consumes once, expires`, async (t) => {
    let clock = Date.parse('2026-01-01T00:00:00Z');
    const { tokens, cleanup } = await factory(() => new Date(clock));
    t.teardown(cleanup);
    const in60s = new Date(clock + 60_000);
    t.equal(await tokens.remember('saml-assertion', 'id-1', in60s), true);
    t.equal(await tokens.remember('saml-assertion', 'id-1', in60s), false, 'a replay is refused');
    t.equal(await tokens.remember('other-scope', 'id-1', in60s), true, 'scopes are independent');
    t.equal(await tokens.remember('saml-request', 'req-1', in60s, '{"returnTo":"/"}'), true);
    t.equal(await tokens.peek('saml-request', 'req-1'), '{"returnTo":"/"}');
    t.equal(await tokens.consume('saml-request', 'req-1'), '{"returnTo":"/"}');
    t.equal(await tokens.consume('saml-request', 'req-1'), undefined, 'consumed only once');
    t.equal(await tokens.consume('saml-request', 'never'), undefined);
    clock += 61_000;
    t.equal(await tokens.peek('saml-assertion', 'id-1'), undefined, 'expired');
    t.equal(await tokens.remember('saml-assertion', 'id-1', new Date(clock + 60_000)), true, 'an expired key can be remembered again');
    t.equal(await tokens.purgeExpired(), 1, 'the other-scope key had expired');
  });

  t.test(`${name}: consumeAndRemember consumes and remembers together, or neither`, async (t) => {
    let clock = Date.parse('2026-01-01T00:00:00Z');
    const { tokens, cleanup } = await factory(() => new Date(clock));
    t.teardown(cleanup);
    const in60s = new Date(clock + 60_000);
    await tokens.remember('request', 'r1', in60s, 'record-1');
    const assertion = (key: string) => ({ scope: 'assertion', key, expiresAt: in60s });
    t.same(await tokens.consumeAndRemember({ scope: 'request', key: 'r1' }, assertion('a1')), { value: 'record-1', remembered: true });
    t.equal(await tokens.peek('request', 'r1'), undefined, 'the request is consumed');
    t.equal(await tokens.peek('assertion', 'a1'), '', 'the assertion is remembered');
    t.same(await tokens.consumeAndRemember({ scope: 'request', key: 'r1' }, assertion('a2')), { value: undefined, remembered: false }, 'a consumed request consumes nothing more');
    t.equal(await tokens.peek('assertion', 'a2'), undefined, 'and remembers nothing');
    await tokens.remember('request', 'r2', in60s, 'record-2');
    t.same(await tokens.consumeAndRemember({ scope: 'request', key: 'r2' }, assertion('a1')), { value: 'record-2', remembered: false }, 'a replayed assertion: the request is still consumed');
    t.equal(await tokens.peek('request', 'r2'), undefined);
    await tokens.remember('request', 'r3', new Date(clock + 1_000), 'record-3');
    clock += 61_000;
    t.same(await tokens.consumeAndRemember({ scope: 'request', key: 'r3' }, assertion('a3')), { value: undefined, remembered: false }, 'an expired request cannot be consumed');
    await tokens.remember('request', 'r4', new Date(clock + 60_000), 'record-4');
    t.same(
      await tokens.consumeAndRemember({ scope: 'request', key: 'r4' }, { ...assertion('a1'), expiresAt: new Date(clock + 60_000), value: 'v' }),
      { value: 'record-4', remembered: true },
      'an expired assertion id can be remembered again',
    );
    t.equal(await tokens.peek('assertion', 'a1'), 'v');
  });

  t.test(`${name}: concurrent consumers — exactly one wins`, async (t) => {
    const { tokens, cleanup } = await factory(() => new Date());
    t.teardown(cleanup);
    await tokens.remember('oidc-state', 's', new Date(Date.now() + 60_000), 'v');
    const results = await Promise.all(Array.from({ length: 10 }, () => tokens.consume('oidc-state', 's')));
    t.equal(results.filter((r) => r === 'v').length, 1);
    const remembered = await Promise.all(Array.from({ length: 10 }, () => tokens.remember('replay', 'k', new Date(Date.now() + 60_000))));
    t.equal(remembered.filter(Boolean).length, 1);
    await tokens.remember('request', 'shared', new Date(Date.now() + 60_000), 'v');
    const both = await Promise.all(
      Array.from({ length: 10 }, (_, i) => tokens.consumeAndRemember({ scope: 'request', key: 'shared' }, { scope: 'assertion', key: `a${i}`, expiresAt: new Date(Date.now() + 60_000) })),
    );
    t.equal(both.filter((r) => r.value === 'v' && r.remembered).length, 1, 'one consumer consumes and remembers');
    t.equal(both.filter((r) => r.value === undefined && !r.remembered).length, 9, 'the others neither');
  });
}
