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

  t.test(`${name}: concurrent saves (written in batches where the adapter batches) keep exact values, the last per identity`, async (t) => {
    const { snapshots, cleanup } = await factory();
    t.teardown(cleanup);
    const now = new Date('2026-05-02T00:00:00Z');
    const later = new Date('2026-08-01T00:00:00Z');
    const tricky = `quote " backslash \\ brace { } comma , NULL 'single' ünïcödé 🙂`;
    const users = Array.from({ length: 120 }, (_, i) => ({ userId: randomUUID(), subject: `s-${i}` }));
    await Promise.all(users.map(({ userId, subject }) => snapshots.save(userId, login('okta', subject, `${subject} ${tricky}`), later)));
    // The same identity saved again: one after the other, as the login handler does per identity.
    for (const value of ['first', 'second', 'third']) await snapshots.save(users[0]!.userId, login('okta', users[0]!.subject, value), later);
    const rows = await snapshots.forIdp('okta', now);
    t.equal(rows.length, users.length, 'one row per identity');
    const byUser = new Map(rows.map((r) => [r.userId, r.login.attributes?.['email']]));
    t.same(byUser.get(users[0]!.userId), ['third'], 'the last save of an identity wins');
    t.ok(users.slice(1).every(({ userId, subject }) => byUser.get(userId)?.[0] === `${subject} ${tricky}`), 'values come back byte for byte');
    // An erase right after a save: the save is never written after the erase.
    const carol = randomUUID();
    const saved = snapshots.save(carol, login('okta', 'carol', 'c@example.com'), later);
    const erased = await snapshots.erase(carol);
    await saved;
    t.equal(erased, 1, 'the erase saw the queued save');
    t.same(await snapshots.forUser(carol, now), [], 'and nothing came back after it');
  });
}
