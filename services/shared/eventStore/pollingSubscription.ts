/**
 * Catch-up subscription shared by the adapters: reads the log in batches from a position, then
 * waits for a wake-up (an append in this process, a database notification) or a poll interval.
 * Handler failures are retried from the same position after a back-off, so nothing is skipped.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { RawRecordedEvent } from '../../../events/envelope.js';
import type { EventBatchHandler, Subscription } from './eventStore.js';

/** Events after a position, and the position the read covers (beyond the last event when filtered). */
export type LogReader = (after: number, maxCount: number) => Promise<{ events: RawRecordedEvent[]; upTo: number }>;

/** A reader of every event: it covers up to its last event. */
export function unfiltered(read: (after: number, maxCount: number) => Promise<RawRecordedEvent[]>): LogReader {
  return async (after, maxCount) => {
    const events = await read(after, maxCount);
    return { events, upTo: events.at(-1)?.position ?? after };
  };
}

export type WakeSource = (listener: () => void) => () => void;

export function startPollingSubscription(options: {
  read: LogReader;
  wake: WakeSource;
  after: number;
  handler: EventBatchHandler;
  batchSize?: number;
  pollIntervalMs?: number;
  onError?: (error: unknown) => void;
}): Subscription {
  const batchSize = options.batchSize ?? 500;
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  let position = options.after;
  let stopped = false;
  let wakeUp: (() => void) | undefined;
  let pendingWake = false;
  let resolveCaughtUp!: () => void;
  const caughtUp = new Promise<void>((resolve) => (resolveCaughtUp = resolve));

  const unsubscribe = options.wake(() => {
    pendingWake = true;
    wakeUp?.();
  });

  const idle = async (ms: number): Promise<void> => {
    if (pendingWake) return;
    const controller = new AbortController();
    wakeUp = () => controller.abort();
    await sleep(ms, undefined, { signal: controller.signal, ref: false }).catch(() => undefined);
    wakeUp = undefined;
  };

  const loop = async (): Promise<void> => {
    let failures = 0;
    while (!stopped) {
      pendingWake = false;
      try {
        const { events, upTo } = await options.read(position, batchSize);
        if (stopped) break;
        if (events.length > 0 || upTo > position) {
          await options.handler(events, upTo);
          position = upTo;
          failures = 0;
          // A full batch may have more behind it. A short one was everything committed when it was
          // read, and what commits later wakes us (pendingWake), so reading again at once would
          // only answer nothing: that empty read was half the statements of a busy subscriber.
          if (events.length >= batchSize) continue;
        }
        resolveCaughtUp();
        failures = 0;
        await idle(pollIntervalMs);
      } catch (error) {
        if (stopped) break;
        failures += 1;
        options.onError?.(error);
        await idle(Math.min(100 * 2 ** failures, 5000));
      }
    }
  };
  const running = loop();

  return {
    caughtUp,
    position: () => position,
    async stop() {
      stopped = true;
      unsubscribe();
      wakeUp?.();
      resolveCaughtUp();
      await running;
    },
  };
}
