/**
 * The contract every ReadModel adapter passes: projection (idempotent, checkpointed), listing
 * (filters, ordering, offset and keyset paging), lookups and reset.
 */
import { randomUUID } from 'node:crypto';
import type { Test } from 'tap';
import type { UserEvent } from '../../events/catalogue.js';
import type { RawRecordedEvent } from '../../events/envelope.js';
import type { ReadModel, UserListQuery } from './readModel.js';

export type ReadModelFactory = () => Promise<{ model: ReadModel; cleanup: () => Promise<void> }>;

/** Builds a log: each call appends one event with the next position and its stream's next revision. */
export function logBuilder() {
  let position = 0;
  const revisions = new Map<string, number>();
  const log: RawRecordedEvent[] = [];
  const add = (userId: string, event: UserEvent, recordedAt = new Date(Date.UTC(2026, 0, 1, 0, 0, position)).toISOString()) => {
    const streamId = `user-${userId}`;
    const revision = (revisions.get(streamId) ?? -1) + 1;
    revisions.set(streamId, revision);
    const recorded: RawRecordedEvent = {
      ...event,
      eventId: randomUUID(),
      metadata: { correlationId: 'c', actor: 'test', schemaVersion: 1 },
      streamId,
      revision,
      position: ++position,
      recordedAt,
    };
    log.push(recorded);
    return recorded;
  };
  const provision = (username: string, options: { idp?: string; groups?: string[]; email?: string; userId?: string } = {}) => {
    const userId = options.userId ?? randomUUID();
    const idp = options.idp ?? 'okta';
    const groups = options.groups ?? ['staff'];
    add(userId, {
      type: 'UserProvisioned',
      data: {
        'user-id': userId,
        'idp-id': idp,
        subject: `${username}-subject`,
        username,
        'display-name': `${username} display`,
        email: options.email ?? `${username}@example.com`,
        groups,
        grants: groups.map((group) => ({ group, source: { type: 'idp' as const, 'idp-id': idp } })),
        'login-id': randomUUID(),
      },
    });
    return userId;
  };
  return { log, add, provision };
}

const query = (overrides: Partial<UserListQuery> = {}): UserListQuery => ({ start: 0, limit: 100, withGroups: false, ...overrides });

export function testReadModelContract(t: Test, name: string, factory: ReadModelFactory): void {
  const withModel = (title: string, body: (t: Test, model: ReadModel) => Promise<void>) =>
    t.test(`${name}: ${title}`, async (t) => {
      const { model, cleanup } = await factory();
      t.teardown(cleanup);
      await body(t, model);
    });

  withModel('projects users and keeps the checkpoint with the rows', async (t, model) => {
    const b = logBuilder();
    const alice = b.provision('alice', { groups: ['Developers', 'staff'] });
    b.provision('Bob');
    b.add(alice, { type: 'UserLoggedIn', data: { 'user-id': alice, 'idp-id': 'okta', subject: 'alice-subject', protocol: 'saml', 'login-id': randomUUID(), 'authenticated-at': '2026-02-01T10:00:00Z' } });
    await model.applyEvents(b.log, 'p');
    t.equal(await model.checkpoint('p'), 3);
    t.equal(await model.checkpoint('other'), 0);
    const page = await model.listUsers(query({ withGroups: true }));
    t.equal(page.total, 2);
    t.same(page.users.map((u) => u.username), ['alice', 'Bob']);
    t.same(page.users[0]?.groups, ['Developers', 'staff']);
    t.equal(page.users[0]?.lastLoginAt, '2026-02-01T10:00:00.000Z');
    const found = await model.findUser('ALICE');
    t.equal(found?.userId, alice);
    t.equal((await model.findUser(alice))?.username, 'alice', 'by user id too');
    t.equal(await model.findUser('nobody'), undefined);
  });

  withModel('pages deep by start exactly as by offset, and answers the current data after every change', async (t, model) => {
    const b = logBuilder();
    const names = Array.from({ length: 2300 }, (_, i) => `user${String((i * 7919) % 2300).padStart(4, '0')}`);
    for (const name of names) b.provision(name);
    await model.applyEvents(b.log, 'p');
    const sorted = [...names].sort();
    for (const start of [0, 999, 1000, 1001, 1999, 2000, 2250, 2299, 2300, 5000]) {
      const page = await model.listUsers(query({ start, limit: 60 }));
      t.same(page.users.map((u) => u.username), sorted.slice(start, start + 60), `start=${start}`);
      t.equal(page.total, 2300);
    }
    const filtered = await model.listUsers(query({ start: 1000, limit: 5, q: 'user1' }));
    t.same(filtered.users.map((u) => u.username), sorted.filter((n) => n.includes('user1')).slice(1000, 1005));
    // A change moves every later user one place: a cached count or seek position would now be wrong.
    const version = await model.version();
    b.provision('user0000a');
    await model.applyEvents(b.log.slice(-1), 'p');
    t.not(await model.version(), version, 'an applied batch changes the version');
    const after = [...sorted, 'user0000a'].sort();
    const page = await model.listUsers(query({ start: 1500, limit: 3 }));
    t.same(page.users.map((u) => u.username), after.slice(1500, 1503));
    t.equal(page.total, 2301);
  });

  withModel('skips events it has already applied (at-least-once delivery)', async (t, model) => {
    const b = logBuilder();
    const alice = b.provision('alice');
    b.add(alice, {
      type: 'UserUpdated',
      data: { 'user-id': alice, 'idp-id': 'okta', changes: { email: { from: 'alice@example.com', to: 'a@new.example' } }, 'groups-added': ['x'], 'groups-removed': [], grants: [{ group: 'x', source: { type: 'admin' } }], revocations: [] },
    });
    await model.applyEvents(b.log, 'p');
    await model.applyEvents(b.log, 'p');
    await model.applyEvents([b.log[1]!], 'p');
    const user = await model.findUser('alice');
    t.equal(user?.email, 'a@new.example');
    t.same(Object.values(user?.groups ?? {}).map((g) => g.grants.length), [1, 1], 'no grant applied twice');
    t.equal(await model.checkpoint('p'), 2);
  });

  withModel('groups and identities stay right across batches that change them and batches that do not', async (t, model) => {
    const b = logBuilder();
    const idp = { type: 'idp' as const, 'idp-id': 'okta' };
    const alice = b.provision('alice', { groups: ['a', 'b'] });
    const bob = b.provision('bob', { groups: ['b'] });
    await model.applyEvents(b.log, 'p');
    const groupsOf = async () => (await model.listUsers(query({ withGroups: true }))).users.map((u) => `${u.username}:${u.groups?.join(',')}`);
    const members = async (group: string) => (await model.listUsers(query({ group }))).users.map((u) => u.username);
    const login = (userId: string, at: string) =>
      b.add(userId, { type: 'UserLoggedIn', data: { 'user-id': userId, 'idp-id': 'okta', subject: 's', protocol: 'saml', 'login-id': randomUUID(), 'authenticated-at': at } });
    const steps: { title: string; events: () => void; groups: string[]; a: string[]; c: string[] }[] = [
      { title: 'logins only', events: () => (login(alice, '2026-02-01T10:00:00Z'), login(bob, '2026-02-01T11:00:00Z')), groups: ['alice:a,b', 'bob:b'], a: ['alice'], c: [] },
      {
        title: 'an email change without group changes',
        events: () => b.add(alice, { type: 'UserUpdated', data: { 'user-id': alice, 'idp-id': 'okta', changes: { email: { from: 'alice@example.com', to: 'a2@example.com' } }, 'groups-added': [], 'groups-removed': [], grants: [], revocations: [] } }),
        groups: ['alice:a,b', 'bob:b'],
        a: ['alice'],
        c: [],
      },
      {
        title: 'c granted and a revoked, then a login in the same batch',
        events: () => {
          b.add(alice, { type: 'UserUpdated', data: { 'user-id': alice, 'idp-id': 'okta', changes: {}, 'groups-added': ['c'], 'groups-removed': ['a'], grants: [{ group: 'c', source: idp }], revocations: [{ group: 'a', source: idp }] } });
          login(alice, '2026-02-02T10:00:00Z');
        },
        groups: ['alice:b,c', 'bob:b'],
        a: [],
        c: ['alice'],
      },
      {
        title: 'a login, then an identity linked, then a login',
        events: () => {
          login(bob, '2026-02-03T10:00:00Z');
          b.add(bob, { type: 'UserIdentityLinked', data: { 'user-id': bob, 'idp-id': 'azure', subject: 'bob-azure', username: 'bob', 'login-id': randomUUID() } });
          login(bob, '2026-02-03T11:00:00Z');
        },
        groups: ['alice:b,c', 'bob:b'],
        a: [],
        c: ['alice'],
      },
    ];
    for (const step of steps) {
      const from = b.log.length;
      step.events();
      await model.applyEvents(b.log.slice(from), 'p');
      t.same(await groupsOf(), step.groups, `${step.title}: groups`);
      t.same(await members('A'), step.a, `${step.title}: members of a`);
      t.same(await members('c'), step.c, `${step.title}: members of c`);
    }
    t.same((await model.findUser('bob'))?.identities.map((i) => `${i.idpId}/${i.subject}`), ['okta/bob-subject', 'azure/bob-azure']);
    t.equal((await model.findUser('alice'))?.lastLoginAt, '2026-02-02T10:00:00Z');
  });

  withModel('groups named like Object.prototype members, across batches (state read back from storage)', async (t, model) => {
    const b = logBuilder();
    const names = ['__proto__', 'constructor', 'toString', 'hasOwnProperty'];
    const alice = b.provision('alice', { groups: names });
    await model.applyEvents(b.log, 'p');
    const idp = { type: 'idp' as const, 'idp-id': 'okta' };
    b.add(alice, {
      type: 'UserUpdated',
      data: {
        'user-id': alice,
        'idp-id': 'okta',
        changes: {},
        'groups-added': ['valueOf'],
        'groups-removed': ['constructor', '__proto__'],
        grants: [{ group: 'valueOf', source: idp }, { group: 'toString', source: { type: 'admin' } }],
        revocations: [{ group: 'constructor', source: idp }, { group: '__proto__', source: idp }],
      },
    });
    await model.applyEvents(b.log.slice(-1), 'p');
    const user = await model.findUser('alice');
    t.same(Object.keys(user?.groups ?? {}).sort(), ['hasownproperty', 'tostring', 'valueof']);
    t.equal(user && Object.getPrototypeOf(user.groups), Object.prototype, 'no group became the prototype');
    t.equal(user?.groups['tostring']?.grants.length, 2, 'toString granted by the IdP and an administrator');
    const page = await model.listUsers(query({ withGroups: true }));
    t.same(page.users[0]?.groups, ['hasOwnProperty', 'toString', 'valueOf']);
    t.equal((await model.listUsers(query({ group: 'constructor' }))).total, 0);
    t.equal((await model.listUsers(query({ group: 'TOSTRING' }))).total, 1);
    t.equal((await model.listUsers(query({ group: '__proto__' }))).total, 0);
    t.equal(({} as Record<string, unknown>)['grants'], undefined, 'Object.prototype untouched');
  });

  withModel('stores text with quotes, backslashes, dollar quotes, separators and astral characters exactly', async (t, model) => {
    const b = logBuilder();
    const hostile = [`o'brien`, 'back\\slash', 'dq"uote', '$$dollar$$', 'semi;colon -- comment', 'brace{a,b}', 'new\nline', 'tab\there', '😀 emoji', "'); DROP TABLE jit_users; --"];
    const ids = hostile.map((name, i) => b.provision(name, { groups: [name, `g${i}`], email: `${name}@example.com` }));
    await model.applyEvents(b.log.slice(0, 4), `proj'ection\\"x`);
    await model.applyEvents(b.log.slice(4), `proj'ection\\"x`);
    t.equal(await model.checkpoint(`proj'ection\\"x`), b.log.length, 'a projection name with quotes and backslashes keeps its checkpoint');
    for (const [i, name] of hostile.entries()) {
      const user = await model.findUser(name);
      t.equal(user?.userId, ids[i], `${JSON.stringify(name)} found by username`);
      t.equal(user?.displayName, `${name} display`);
      t.equal(user?.email, `${name}@example.com`);
      t.same(Object.values(user?.groups ?? {}).map((m) => m.name).sort(), [name, `g${i}`].sort(), `${JSON.stringify(name)}: groups`);
    }
    const page = await model.listUsers(query({ withGroups: true, limit: 100 }));
    t.equal(page.total, hostile.length, 'every user listed, no table dropped');
    t.same(new Set(page.users.map((u) => u.username)), new Set(hostile));
    const byGroup = await model.listUsers(query({ group: '$$dollar$$' }));
    t.same(byGroup.users.map((u) => u.username), ['$$dollar$$']);
  });

  withModel('q compares in one Unicode form (NFKC, lower case)', async (t, model) => {
    const b = logBuilder();
    b.provision('jose', { email: 'ＪＯＳＥ@example.com' });
    b.provision('other');
    const first = b.log[0]!;
    (first.data as Record<string, unknown>)['display-name'] = 'Jose\u0301 Mu\u0308ller ﬁnance';
    await model.applyEvents(b.log, 'p');
    const usernames = async (q: string) => (await model.listUsers(query({ q }))).users.map((u) => u.username);
    t.same(await usernames('josé'), ['jose'], 'a composed query finds a decomposed display name');
    t.same(await usernames('MU\u0308LLER'), ['jose'], 'and the other way round, case-insensitively');
    t.same(await usernames('finance'), ['jose'], 'ligatures fold');
    t.same(await usernames('jose@EXAMPLE'), ['jose'], 'full-width letters fold');
    t.same(await usernames('ｏｔｈｅｒ'), ['other'], 'in the query too');
  });

  withModel('filters and pages', async (t, model) => {
    const b = logBuilder();
    const names = ['carol', 'alice', 'Dave', 'bob', 'erin', 'frank'];
    const ids = names.map((n, i) => b.provision(n, { idp: i % 2 === 0 ? 'okta' : 'entra', groups: i < 3 ? ['Admins'] : ['staff'] }));
    b.add(ids[3]!, { type: 'UserDeactivated', data: { 'user-id': ids[3]!, reason: 'admin' } });
    await model.applyEvents(b.log, 'p');
    const usernames = async (q: Partial<UserListQuery>) => (await model.listUsers(query(q))).users.map((u) => u.username);
    t.same(await usernames({}), ['alice', 'bob', 'carol', 'Dave', 'erin', 'frank']);
    t.same(await usernames({ idp: 'entra' }), ['alice', 'bob', 'frank']);
    t.same(await usernames({ active: false }), ['bob']);
    t.same(await usernames({ active: true, group: 'admins' }), ['alice', 'carol', 'Dave']);
    t.same(await usernames({ q: 'DAVE@EXAMPLE' }), ['Dave']);
    t.same(await usernames({ q: '%' }), [], 'q is a literal substring');
    t.same(await usernames({ start: 2, limit: 2 }), ['carol', 'Dave']);
    t.equal((await model.listUsers(query({ start: 2, limit: 2 }))).total, 6);
    const first = await model.listUsers(query({ limit: 4 }));
    const last = first.users.at(-1)!;
    t.same(await usernames({ limit: 4, cursor: { usernameKey: last.usernameKey, userId: last.userId } }), ['erin', 'frank'], 'keyset page');
    t.same(await usernames({ provisionedAfter: b.log[2]!.recordedAt }), ['bob', 'erin', 'frank']);
    t.same(await usernames({ provisionedBefore: b.log[1]!.recordedAt }), ['carol']);
    t.same(await usernames({ lastLoginBefore: '2030-01-01T00:00:00Z' }), ['alice', 'bob', 'carol', 'Dave', 'erin', 'frank'], 'never logged in counts');
  });

  withModel('an explicit checkpoint is stored even without events (Kafka offsets)', async (t, model) => {
    const b = logBuilder();
    b.provision('alice');
    await model.applyEvents(b.log, 'kafka:jit.users.v1:0', 17);
    t.equal(await model.checkpoint('kafka:jit.users.v1:0'), 17);
    await model.applyEvents([], 'kafka:jit.users.v1:0', 18);
    t.equal(await model.checkpoint('kafka:jit.users.v1:0'), 18);
    t.ok(await model.findUser('alice'));
  });

  withModel('reset empties the model', async (t, model) => {
    const b = logBuilder();
    b.provision('alice');
    await model.applyEvents(b.log, 'p');
    await model.reset();
    t.equal((await model.listUsers(query())).total, 0);
    t.equal(await model.checkpoint('p'), 0);
  });
}
