/**
 * A consumer that keeps consuming. kafkajs restarts a crashed consumer only when the crash's
 * error is retriable; after any other crash it disconnects and stays so, and the stream stops
 * without a sound (seen in the broker-restart fault test: "Failed to find group coordinator"
 * while the broker was down left the projector stopped for good). Here such a crash starts a
 * new consumer (same group, so it resumes from the committed offsets) after a growing delay,
 * until stop().
 */
import type { Consumer, Kafka } from 'kafkajs';
import type { Logger } from 'pino';

export type SupervisedConsumer = { stop(): Promise<void> };

export type SuperviseOptions = {
  logger: Logger;
  /** A new consumer, not yet connected. */
  create: () => Consumer;
  /** Connects, subscribes and starts it; answers run()'s promise unawaited (it resolves only once the group is joined). */
  start: (consumer: Consumer) => Promise<{ running: Promise<void> }>;
  /** Delay before the n-th restart in a row (default 1 s doubling up to 30 s). */
  restartDelayMs?: (attempt: number) => number;
};

/** A crash this long after the previous one starts the delays over. */
const CALM_MS = 5 * 60_000;

export async function superviseConsumer(options: SuperviseOptions): Promise<SupervisedConsumer> {
  const { logger } = options;
  const delayOf = options.restartDelayMs ?? ((attempt: number) => Math.min(1000 * 2 ** (attempt - 1), 30_000));
  let stopped = false;
  let current: Consumer | undefined;
  let running: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let attempt = 0;
  let lastCrash = 0;

  const launch = async () => {
    const consumer = options.create();
    current = consumer;
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (stopped || payload.restart || consumer !== current) return;
      logger.error({ err: payload.error }, 'the Kafka consumer crashed and kafkajs will not restart it: starting a new one');
      schedule();
    });
    ({ running } = await options.start(consumer));
  };

  const schedule = () => {
    if (stopped || timer) return;
    const now = Date.now();
    attempt = now - lastCrash > CALM_MS ? 1 : attempt + 1;
    lastCrash = now;
    timer = setTimeout(() => {
      timer = undefined;
      void (async () => {
        await current?.disconnect().catch(() => undefined);
        if (stopped) return;
        try {
          await launch();
          // stop() came while the new consumer was connecting: it disconnected a consumer mid-start.
          if (stopped) return void (await current?.disconnect().catch(() => undefined));
          logger.info({ attempt }, 'a new Kafka consumer is running');
        } catch (error) {
          logger.warn({ err: error, attempt }, 'the new Kafka consumer did not start; trying again');
          schedule();
        }
      })();
    }, delayOf(attempt));
  };

  await launch();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await current?.disconnect();
      await running;
    },
  };
}

/**
 * The service's consumers: one topic, read from the beginning by a consumer group, supervised.
 * `run` starts the connected, subscribed consumer (consumer.run) and answers its promise.
 */
export function superviseGroupConsumer(options: {
  kafka: Kafka;
  groupId: string;
  topic: string;
  logger: Logger;
  /** True once the owner is stopping: kafkajs then restarts nothing either. */
  stopping: () => boolean;
  run: (consumer: Consumer) => Promise<void>;
}): Promise<SupervisedConsumer> {
  return superviseConsumer({
    logger: options.logger,
    create: () =>
      options.kafka.consumer({
        groupId: options.groupId,
        maxWaitTimeInMs: 250,
        retry: { retries: 10, restartOnFailure: async () => !options.stopping() },
      }),
    start: async (consumer) => {
      await consumer.connect();
      await consumer.subscribe({ topic: options.topic, fromBeginning: true });
      // run() resolves only once the group is joined, which waits out the session of a crashed
      // predecessor (30 s): the process (and its HTTP API) must not wait for that to start serving.
      return { running: options.run(consumer) };
    },
  });
}
