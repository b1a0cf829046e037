/**
 * Graceful shutdown of `jit serve` (SIGTERM from Kubernetes, SIGINT from a terminal): stop
 * accepting (new requests answer 503, in-flight ones finish), let the in-process projection catch
 * up, then close the runtime — the login consumer finishes its message and commits its offsets,
 * the relay publishes what is committed and waits for the acks, the stores close. Exit 0 when done;
 * exit 1 after SHUTDOWN_TIMEOUT_MS or on a second signal.
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Runtime } from '../runtime.js';

/** Below Kubernetes' default 30 s grace period, so we end on our own terms. */
export const SHUTDOWN_TIMEOUT_MS = 25_000;
const PROJECTION_CATCH_UP_MS = 5000;

export type ShutdownDeps = Readonly<{
  app: FastifyInstance;
  runtime: Runtime;
  logger: Logger;
  timeoutMs?: number;
  exit?: (code: number) => void;
}>;

/** Installs the signal handlers; call before app.listen (it adds a hook). */
export function installGracefulShutdown(deps: ShutdownDeps): { stop(signal: string): Promise<void>; uninstall(): void } {
  const { app, runtime, logger } = deps;
  const exit = deps.exit ?? ((code: number) => process.exit(code));
  let stopping = false;
  // Once stopping, every answer closes its connection: a keep-alive client must not hold the
  // server open, and its next request goes to another instance.
  app.addHook('onSend', async (_request, reply) => {
    if (stopping) reply.header('connection', 'close');
  });

  const stop = async (signal: string): Promise<void> => {
    if (stopping) {
      logger.error({ signal }, 'second signal while shutting down; exiting now');
      exit(1);
      return;
    }
    stopping = true;
    const started = Date.now();
    logger.info({ signal, timeoutMs: deps.timeoutMs ?? SHUTDOWN_TIMEOUT_MS }, 'shutting down: no new requests; finishing in-flight work');
    const timer = setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      exit(1);
    }, deps.timeoutMs ?? SHUTDOWN_TIMEOUT_MS);
    timer.unref();
    try {
      await app.close();
      logger.info('HTTP server closed; in-flight requests answered');
      if (runtime.projector) {
        const head = await runtime.store.headPosition();
        await runtime.projector.waitFor(head, PROJECTION_CATCH_UP_MS).catch((error: unknown) => logger.warn({ err: error }, 'the projection did not catch up before shutdown'));
      }
      await runtime.close();
      clearTimeout(timer);
      logger.info({ ms: Date.now() - started }, 'shut down cleanly');
      exit(0);
    } catch (error) {
      clearTimeout(timer);
      logger.error({ err: error }, 'shutdown failed');
      exit(1);
    }
  };
  const onTerm = () => void stop('SIGTERM');
  const onInt = () => void stop('SIGINT');
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);
  return {
    stop,
    uninstall() {
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
    },
  };
}
