/**
 * Signing key rotation at the IdP: a token whose `kid` is not in the cached key set makes
 * openid-client (oauth4webapi) fetch the JWKS again — once the cached set is a minute old, so a
 * flood of unknown kids cannot turn into a flood of JWKS requests. The clock is moved forward
 * with Date.now, which is what oauth4webapi and the token server read.
 */
import t from 'tap';
import { usersIn } from '../support/gatewayHarness.js';
import { newSigningKey } from '../support/oidcTokenServer.js';
import { oidcScenario } from '../support/oidcScenario.js';

t.test('a rotated signing key is picked up from the JWKS', async (t) => {
  const s = await oidcScenario(t);
  const first = await s.login();
  t.equal(first.res.statusCode, 302, 'a login with the first key');
  t.equal(s.server.jwksFetches, 1, 'the key set was fetched once');

  const rotated = newSigningKey('key-2');
  s.server.keys = [rotated, ...s.server.keys];
  s.server.user = { ...s.server.user, sub: 'user-bob-0002', preferred_username: 'bob', name: 'Bob Builder', email: 'bob@example.com' };

  await s.expectRejected(t, async () => (await s.login()).res, 'oidc-signing-key-unknown');
  t.equal(s.server.jwksFetches, 1, 'within a minute of the last fetch the cached set is not refreshed (no refetch flood)');

  const realNow = Date.now;
  Date.now = () => realNow() + 61_000;
  t.teardown(() => {
    Date.now = realNow;
  });
  const later = await s.login();
  t.equal(later.res.statusCode, 302, later.res.body.slice(0, 300));
  t.equal(s.server.jwksFetches, 2, 'the unknown kid made the client fetch the key set again');
  t.same((await usersIn(s.gw.runtime)).map((u) => u.username).sort(), ['alice', 'bob']);

  s.server.keys = [rotated];
  s.server.user = { ...s.server.user, sub: 'user-carol-0003', preferred_username: 'carol', name: 'Carol', email: 'carol@example.com' };
  t.equal((await s.login()).res.statusCode, 302, 'the new key keeps working after the old one is withdrawn');
});
