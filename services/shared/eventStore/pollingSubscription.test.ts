import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import type { RawRecordedEvent } from '../../../events/envelope.js';
import { startPollingSubscription } from './pollingSubscription.js';

/** An in-memory log whose reads are recorded, with a wake source the test fires by hand. */
function fakeLog() {
  const events: RawRecordedEvent[] = [];
  const reads: { after: number; returned: number }[] = [];
  const listeners = new Set<() => void>();
  const append = (n: number) => {
    for (let i = 0; i < n; i++) {
      const position = events.length + 1;
      events.push({ eventId: `e${position}`, type: 'UserDeactivated', data: {}, metadata: { correlationId: 'c', actor: 'a', schemaVersion: 1 }, streamId: 's', revision: position - 1, position, recordedAt: '2026-01-01T00:00:00.000Z' });
    }
    for (const listener of listeners) listener();
  };
  return {
    events,
    reads,
    append,
    read: async (after: number, maxCount: number) => {
      const batch = events.filter((e) => e.position > after).slice(0, maxCount);
      reads.push({ after, returned: batch.length });
      return { events: batch, upTo: batch.at(-1)?.position ?? after };
    },
    wake: (listener: () => void) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

t.test('reads on after a full batch, but not after a short one until woken', async (t) => {
  const log = fakeLog();
  log.append(7);
  const seen: number[] = [];
  const subscription = startPollingSubscription({ read: log.read, wake: log.wake, after: 0, batchSize: 3, pollIntervalMs: 60_000, handler: (batch) => void seen.push(...batch.map((e) => e.position)) });
  t.teardown(() => subscription.stop());
  await subscription.caughtUp;
  t.same(seen, [1, 2, 3, 4, 5, 6, 7]);
  t.same(log.reads, [{ after: 0, returned: 3 }, { after: 3, returned: 3 }, { after: 6, returned: 1 }], 'no empty read after the short batch');
  await sleep(20);
  t.equal(log.reads.length, 3, 'idle until woken (the poll interval is a minute)');
  log.append(2);
  for (let i = 0; i < 100 && seen.length < 9; i++) await sleep(5);
  t.same(seen, [1, 2, 3, 4, 5, 6, 7, 8, 9], 'a wake brings the new events');
  t.same(log.reads.slice(3), [{ after: 7, returned: 2 }]);
});

t.test('an append that lands while a batch is handled is read at once, not at the next poll', async (t) => {
  const log = fakeLog();
  log.append(2);
  const seen: number[] = [];
  let first = true;
  const subscription = startPollingSubscription({
    read: log.read,
    wake: log.wake,
    after: 0,
    batchSize: 10,
    pollIntervalMs: 60_000,
    handler: (batch) => {
      seen.push(...batch.map((e) => e.position));
      if (first) {
        first = false;
        log.append(1); // committed (and notified) after the read that found the first two
      }
    },
  });
  t.teardown(() => subscription.stop());
  for (let i = 0; i < 100 && seen.length < 3; i++) await sleep(5);
  t.same(seen, [1, 2, 3]);
});

t.test('an empty log resolves caughtUp after one read and waits for a wake', async (t) => {
  const log = fakeLog();
  const seen: number[] = [];
  const subscription = startPollingSubscription({ read: log.read, wake: log.wake, after: 0, batchSize: 5, pollIntervalMs: 60_000, handler: (batch) => void seen.push(...batch.map((e) => e.position)) });
  t.teardown(() => subscription.stop());
  await subscription.caughtUp;
  t.same(log.reads, [{ after: 0, returned: 0 }]);
  log.append(5);
  for (let i = 0; i < 100 && seen.length < 5; i++) await sleep(5);
  t.same(seen, [1, 2, 3, 4, 5]);
  t.same(log.reads.slice(1), [{ after: 0, returned: 5 }, { after: 5, returned: 0 }], 'a full batch is followed by a read');
});
