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

  t.test(`${name}: concurrent consumers — exactly one wins`, async (t) => {
    const { tokens, cleanup } = await factory(() => new Date());
    t.teardown(cleanup);
    await tokens.remember('oidc-state', 's', new Date(Date.now() + 60_000), 'v');
    const results = await Promise.all(Array.from({ length: 10 }, () => tokens.consume('oidc-state', 's')));
    t.equal(results.filter((r) => r === 'v').length, 1);
    const remembered = await Promise.all(Array.from({ length: 10 }, () => tokens.remember('replay', 'k', new Date(Date.now() + 60_000))));
    t.equal(remembered.filter(Boolean).length, 1);
  });
}
