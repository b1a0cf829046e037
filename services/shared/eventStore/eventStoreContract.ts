/**
 * The contract every EventStore adapter must pass. Each adapter's test file calls
 * testEventStoreContract with a factory that hands out an empty store.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Test } from 'tap';
import type { NewEvent, RawRecordedEvent } from '../../../events/envelope.js';
import {
  ClaimConflictError,
  DuplicateEventIdError,
  WrongExpectedRevisionError,
  type EventStore,
} from './eventStore.js';

export type EventStoreFactory = () => Promise<{ store: EventStore; cleanup: () => Promise<void> }>;

export function deactivated(userId = randomUUID(), eventId = randomUUID()): NewEvent {
  return {
    eventId,
    type: 'UserDeactivated',
    data: { 'user-id': userId, reason: 'admin' },
    metadata: { correlationId: randomUUID(), actor: 'admin:test', schemaVersion: 1 },
  };
}

export function testEventStoreContract(t: Test, name: string, factory: EventStoreFactory): void {
  const withStore = (title: string, body: (t: Test, store: EventStore) => Promise<void>) =>
    t.test(`${name}: ${title}`, async (t) => {
      const { store, cleanup } = await factory();
      t.teardown(cleanup);
      await body(t, store);
    });

  withStore('appends to a new stream and reads it back in order', async (t, store) => {
    const events = [deactivated(), deactivated(), deactivated()];
    const result = await store.appendToStream('user-a', events, { expectedRevision: 'no-stream' });
    t.equal(result.nextExpectedRevision, 2);
    t.equal(result.lastPosition, 3);
    const read = await store.readStream('user-a');
    t.same(read.map((e) => e.eventId), events.map((e) => e.eventId));
    t.same(read.map((e) => e.revision), [0, 1, 2]);
    t.same(read.map((e) => e.position), [1, 2, 3]);
    t.same(read[0]?.data, events[0]?.data);
    t.same(read[0]?.metadata, events[0]?.metadata);
    t.match(read[0]?.recordedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    t.same(await store.readStream('user-a', { fromRevision: 1, maxCount: 1 }).then((r) => r.map((e) => e.revision)), [1]);
    t.same(await store.readStream('nobody'), []);
  });

  withStore('enforces the expected revision and writes nothing on a mismatch', async (t, store) => {
    await store.appendToStream('s', [deactivated()], { expectedRevision: 'no-stream' });
    await t.rejects(store.appendToStream('s', [deactivated()], { expectedRevision: 'no-stream' }), WrongExpectedRevisionError);
    await t.rejects(store.appendToStream('s', [deactivated()], { expectedRevision: 5 }), WrongExpectedRevisionError);
    await t.rejects(store.appendToStream('missing', [deactivated()], { expectedRevision: 'stream-exists' }), WrongExpectedRevisionError);
    await t.rejects(store.appendToStream('missing', [deactivated()], { expectedRevision: 0 }), WrongExpectedRevisionError);
    t.equal(await store.headPosition(), 1);
    await store.appendToStream('s', [deactivated()], { expectedRevision: 0 });
    await store.appendToStream('s', [deactivated()], { expectedRevision: 'stream-exists' });
    await store.appendToStream('s', [deactivated()], { expectedRevision: 'any' });
    await store.appendToStream('other', [deactivated()], { expectedRevision: 'any' });
    t.same((await store.readStream('s')).map((e) => e.revision), [0, 1, 2, 3]);
    t.equal(await store.headPosition(), 5);
  });

  withStore('keeps the global position gap-free and ordered across streams', async (t, store) => {
    for (let i = 0; i < 10; i++) {
      await store.appendToStream(`stream-${i % 3}`, [deactivated(), deactivated()], { expectedRevision: 'any' });
      await t.rejects(store.appendToStream(`stream-${i % 3}`, [deactivated()], { expectedRevision: 'no-stream' }));
    }
    const all = await store.readAll();
    t.same(all.map((e) => e.position), Array.from({ length: 20 }, (_, i) => i + 1));
    t.same((await store.readAll({ after: 15 })).map((e) => e.position), [16, 17, 18, 19, 20]);
    t.same((await store.readAll({ after: 3, maxCount: 2 })).map((e) => e.position), [4, 5]);
    t.same(await store.readAll({ after: 20 }), []);
  });

  withStore('rejects duplicate event ids atomically', async (t, store) => {
    const first = deactivated();
    await store.appendToStream('a', [first], { expectedRevision: 'no-stream' });
    await t.rejects(store.appendToStream('b', [deactivated(), { ...deactivated(), eventId: first.eventId }], { expectedRevision: 'any' }), DuplicateEventIdError);
    const same = deactivated();
    await t.rejects(store.appendToStream('c', [same, same], { expectedRevision: 'any' }), DuplicateEventIdError);
    t.same(await store.readStream('b'), []);
    t.same(await store.readStream('c'), []);
    t.equal(await store.headPosition(), 1);
  });

  withStore('rejects events whose data breaks their schema, writing nothing', async (t, store) => {
    const bad = { ...deactivated(), data: { 'user-id': 'not-a-uuid', reason: 'admin' } } as unknown as NewEvent;
    await t.rejects(store.appendToStream('a', [deactivated(), bad], { expectedRevision: 'any' }), TypeError);
    const unknown = { ...deactivated(), type: 'UserTeleported' } as unknown as NewEvent;
    await t.rejects(store.appendToStream('a', [unknown], { expectedRevision: 'any' }), TypeError);
    t.equal(await store.headPosition(), 0);
  });

  withStore('holds claims atomically with the append', async (t, store) => {
    const alice = { scope: 'username', key: 'alice', owner: 'user-1' };
    await store.appendToStream('user-1', [deactivated()], { expectedRevision: 'no-stream', claims: [alice] });
    t.equal(await store.findClaim('username', 'alice'), 'user-1');
    t.equal(await store.findClaim('username', 'bob'), undefined);
    t.equal(await store.findClaim('other-scope', 'alice'), undefined);

    const error = await store
      .appendToStream('user-2', [deactivated()], { expectedRevision: 'no-stream', claims: [{ ...alice, owner: 'user-2' }] })
      .catch((e: unknown) => e);
    t.type(error, ClaimConflictError);
    t.equal((error as ClaimConflictError).heldBy, 'user-1');
    t.same(await store.readStream('user-2'), [], 'the append failed as a whole');

    // The owner may claim again (idempotent) and release; releasing someone else's claim does nothing.
    await store.appendToStream('user-1', [deactivated()], { expectedRevision: 0, claims: [alice] });
    await store.appendToStream('user-2', [deactivated()], { expectedRevision: 'no-stream', releases: [{ ...alice, owner: 'user-2' }] });
    t.equal(await store.findClaim('username', 'alice'), 'user-1');
    await store.appendToStream('user-1', [deactivated()], {
      expectedRevision: 1,
      releases: [alice],
      claims: [{ scope: 'username', key: 'alicia', owner: 'user-1' }],
    });
    t.equal(await store.findClaim('username', 'alice'), undefined);
    await store.appendToStream('user-2', [deactivated()], { expectedRevision: 0, claims: [{ ...alice, owner: 'user-2' }] });
    t.equal(await store.findClaim('username', 'alice'), 'user-2');
  });

  withStore('reads a stream from a revision together with claim owners', async (t, store) => {
    const read = store.readStreamWithClaims?.bind(store);
    if (!read) {
      t.fail('the adapter has no readStreamWithClaims');
      return;
    }
    const events = [deactivated(), deactivated(), deactivated()];
    await store.appendToStream('user-r', events, { expectedRevision: 'no-stream', claims: [{ scope: 'identity', key: 'okta\nr', owner: 'r' }] });
    await store.appendToStream('user-other', [deactivated()], { expectedRevision: 'no-stream' });
    const claims = [
      { scope: 'login', key: 'unknown' },
      { scope: 'identity', key: 'okta\nr' },
      { scope: 'username', key: 'nobody' },
    ];
    const all = await read('user-r', { claims });
    t.same(all.events.map((e) => e.eventId), events.map((e) => e.eventId));
    t.same(all.owners, [undefined, 'r', undefined]);
    const tail = await read('user-r', { fromRevision: 2, claims: [] });
    t.same(tail.events.map((e) => [e.revision, e.position]), [[2, 3]]);
    t.same(tail.owners, []);
    t.same(tail.events[0], (await store.readStream('user-r', { fromRevision: 2 }))[0], 'the same envelope as readStream');
    t.same((await read('user-none', { claims: claims.slice(1, 2) })).events, []);
  });

  withStore('answers many concurrent stream-and-claim reads each with its own stream, revisions and owners', async (t, store) => {
    const read = store.readStreamWithClaims?.bind(store);
    if (!read) {
      t.fail('the adapter has no readStreamWithClaims');
      return;
    }
    const written = new Map<string, string[]>();
    for (let s = 0; s < 12; s++) {
      const events = Array.from({ length: 1 + (s % 4) }, () => deactivated());
      written.set(`many-${s}`, events.map((e) => e.eventId));
      await store.appendToStream(`many-${s}`, events, { expectedRevision: 'no-stream', claims: s % 3 === 0 ? [{ scope: 'identity', key: `idp\n${s}`, owner: `owner-${s}` }] : [] });
    }
    // 60 callers at once: streams with and without events, from several revisions, with 0-3 claims, repeated keys.
    const calls = Array.from({ length: 60 }, (_, c) => {
      const s = c % 14; // 12 and 13 do not exist
      const fromRevision = c % 3;
      const claims = Array.from({ length: c % 4 }, (_, k) => ({ scope: k === 1 ? 'login' : 'identity', key: `idp\n${(s + k) % 14}` }));
      return { streamId: `many-${s}`, fromRevision, claims };
    });
    const answers = await Promise.all(calls.map((c) => read(c.streamId, { fromRevision: c.fromRevision, claims: c.claims })));
    answers.forEach((answer, c) => {
      const call = calls[c]!;
      const s = Number(call.streamId.slice(5));
      t.same(answer.events.map((e) => e.eventId), (written.get(call.streamId) ?? []).slice(call.fromRevision), `caller ${c}: events`);
      t.same(answer.events.map((e) => e.revision), answer.events.map((_, i) => call.fromRevision + i), `caller ${c}: revisions in order`);
      t.ok(answer.events.every((e) => e.streamId === call.streamId), `caller ${c}: only its stream`);
      const expected = call.claims.map((claim, k) => {
        const owner = (s + k) % 14;
        return claim.scope === 'identity' && owner % 3 === 0 && owner < 12 ? `owner-${owner}` : undefined;
      });
      t.same(answer.owners, expected, `caller ${c}: owners in the order asked`);
    });
  });

  withStore('lets exactly one of many concurrent appends with the same expected revision win', async (t, store) => {
    await store.appendToStream('race', [deactivated()], { expectedRevision: 'no-stream' });
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, () => store.appendToStream('race', [deactivated()], { expectedRevision: 0 })),
    );
    t.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    t.ok(results.filter((r) => r.status === 'rejected').every((r) => r.reason instanceof WrongExpectedRevisionError));
    const firsts = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) =>
        store.appendToStream(`first-${i}`, [deactivated()], { expectedRevision: 'no-stream', claims: [{ scope: 'username', key: 'same', owner: `first-${i}` }] }),
      ),
    );
    t.equal(firsts.filter((r) => r.status === 'fulfilled').length, 1, 'one claim wins');
  });

  withStore('subscribes: catches up, then follows new appends in order', async (t, store) => {
    for (let i = 0; i < 7; i++) await store.appendToStream(`s-${i}`, [deactivated()], { expectedRevision: 'no-stream' });
    const seen: RawRecordedEvent[] = [];
    const subscription = store.subscribeToAll({ after: 2, batchSize: 2, handler: (batch) => void seen.push(...batch) });
    t.teardown(() => subscription.stop());
    await subscription.caughtUp;
    t.same(seen.map((e) => e.position), [3, 4, 5, 6, 7]);
    await store.appendToStream('late', [deactivated(), deactivated()], { expectedRevision: 'no-stream' });
    await waitFor(() => seen.length === 7);
    t.same(seen.map((e) => e.position), [3, 4, 5, 6, 7, 8, 9]);
    t.equal(subscription.position(), 9);
    await subscription.stop();
    await store.appendToStream('after-stop', [deactivated()], { expectedRevision: 'no-stream' });
    await sleep(50);
    t.equal(seen.length, 7, 'nothing arrives after stop');
  });

  withStore('subscribes to one stream category: only its events, in order, while the position covers the whole log', async (t, store) => {
    t.throws(() => store.subscribeToAll({ after: 0, streamPrefix: "idp-' OR '1'='1", handler: () => undefined }), /streamPrefix/, 'a prefix is a plain word');
    t.throws(() => store.subscribeToAll({ after: 0, streamPrefix: 'idp', handler: () => undefined }), /streamPrefix/);
    const streams = ['user-1', 'idp-a', 'user-2', 'user-3', 'idp-b', 'idpx-c', 'user-4', 'idp-a'];
    const revisions = new Map<string, number>();
    for (const streamId of streams) {
      const revision = revisions.get(streamId);
      await store.appendToStream(streamId, [deactivated()], { expectedRevision: revision ?? 'no-stream' });
      revisions.set(streamId, (revision ?? -1) + 1);
    }
    const seen: RawRecordedEvent[] = [];
    const covered: number[] = [];
    const subscription = store.subscribeToAll({
      after: 0,
      batchSize: 2,
      streamPrefix: 'idp-',
      handler: (batch, upTo) => {
        seen.push(...batch);
        covered.push(upTo);
      },
    });
    t.teardown(() => subscription.stop());
    await subscription.caughtUp;
    t.same(seen.map((e) => [e.streamId, e.position]), [['idp-a', 2], ['idp-b', 5], ['idp-a', 8]], 'idp-* only (not idpx-*), in log order');
    t.equal(subscription.position(), 8, 'caught up to the head');
    t.same(covered, [5, 8], 'a full batch covers up to its last event, a short one up to the head');
    await store.appendToStream('user-5', [deactivated()], { expectedRevision: 'no-stream' });
    await waitFor(() => subscription.position() === 9);
    t.equal(seen.length, 3, 'another category moved the position, and delivered nothing');
    t.equal(covered.at(-1), 9);
    await store.appendToStream('idp-c', [deactivated()], { expectedRevision: 'no-stream' });
    await waitFor(() => seen.length === 4);
    t.same(seen.at(-1)?.position, 10);
    t.equal(subscription.position(), 10);
    const from = store.subscribeToAll({ after: 5, streamPrefix: 'idp-', handler: (batch) => void seen.push(...batch) });
    t.teardown(() => from.stop());
    await from.caughtUp;
    t.same(seen.slice(4).map((e) => e.position), [8, 10], 'from a position');
  });

  withStore('subscribes: a failing handler is retried from the same position', async (t, store) => {
    await store.appendToStream('a', [deactivated(), deactivated(), deactivated()], { expectedRevision: 'no-stream' });
    const seen: number[] = [];
    let failures = 0;
    const subscription = store.subscribeToAll({
      after: 0,
      batchSize: 1,
      handler: (batch) => {
        const position = batch[0]!.position;
        if (position === 2 && failures < 2) {
          failures += 1;
          throw new Error('projection hiccup');
        }
        seen.push(position);
      },
    });
    t.teardown(() => subscription.stop());
    await waitFor(() => seen.length === 3, 5000);
    t.same(seen, [1, 2, 3]);
    t.equal(failures, 2);
  });
}

export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}
