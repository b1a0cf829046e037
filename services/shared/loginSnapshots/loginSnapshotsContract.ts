/** The contract every LoginSnapshots adapter passes. */
import { randomUUID } from 'node:crypto';
import type { Test } from 'tap';
import type { LoginSucceeded } from '../../../schemas/types.gen.js';
import type { LoginSnapshots } from './loginSnapshots.js';

export type LoginSnapshotsFactory = () => Promise<{ snapshots: LoginSnapshots; cleanup: () => Promise<void> }>;

const login = (idpId: string, subject: string, email: string): LoginSucceeded => ({
  loginId: randomUUID(),
  idpId,
  protocol: 'saml',
  subject,
  attributes: { email: [email] },
  authenticatedAt: '2026-05-01T00:00:00Z',
});

export function testLoginSnapshotsContract(t: Test, name: string, factory: LoginSnapshotsFactory): void {
  t.test(`${name}: keeps the last login per identity, expires and erases`, async (t) => {
    const { snapshots, cleanup } = await factory();
    t.teardown(cleanup);
    const now = new Date('2026-05-02T00:00:00Z');
    const later = new Date('2026-08-01T00:00:00Z');
    const alice = randomUUID();
    const bob = randomUUID();
    await snapshots.save(alice, login('okta', 'alice', 'old@example.com'), later);
    await snapshots.save(alice, login('okta', 'alice', 'new@example.com'), later);
    await snapshots.save(alice, login('entra', 'alice-oid', 'a@example.com'), later);
    await snapshots.save(bob, login('okta', 'bob', 'b@example.com'), new Date('2026-05-03T00:00:00Z'));
    const okta = await snapshots.forIdp('okta', now);
    t.equal(okta.length, 2, 'one row per identity');
    t.same(okta.find((s) => s.userId === alice)?.login.attributes, { email: ['new@example.com'] }, 'only the last login');
    t.equal((await snapshots.forUser(alice, now)).length, 2);
    t.equal((await snapshots.forIdp('okta', new Date('2026-06-01T00:00:00Z'))).length, 1, "bob's snapshot expired");
    t.equal(await snapshots.purgeExpired(new Date('2026-06-01T00:00:00Z')), 1);
    t.equal(await snapshots.erase(alice), 2);
    t.same(await snapshots.forUser(alice, now), []);
  });
}
