/**
 * The bounds of a graceful shutdown (the whole path runs in gracefulShutdown.test.ts on a real
 * process): a second signal exits 1 at once; a shutdown that outlasts its bound exits 1; a clean
 * one exits 0 after the runtime closed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import t from 'tap';
import { buildApp } from '../../services/api/app.js';
import { installGracefulShutdown } from '../../services/cli/shutdown.js';
import { loadConfig } from '../../services/shared/config.js';
import { startRuntime } from '../../services/runtime.js';

const quiet = pino({ level: 'silent' });

/** Like `jit serve` before listen: the hook is added before the app is ready. */
async function startTestApp() {
  const dataDir = mkdtempSync(join(tmpdir(), 'jit-shutdown-'));
  const runtime = await startRuntime(loadConfig({ JIT_DATA_DIR: dataDir, JIT_LOG_LEVEL: 'silent' }), quiet);
  const app = await buildApp(runtime, { logger: false });
  return {
    app,
    runtime,
    close: async () => {
      await app.close();
      await runtime.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

t.test('a clean shutdown closes the app and the runtime, then exits 0', async (t) => {
  const test = await startTestApp();
  t.teardown(test.close);
  const codes: number[] = [];
  let runtimeClosed = false;
  const runtime = { ...test.runtime, close: async () => void (runtimeClosed = true) };
  const shutdown = installGracefulShutdown({ app: test.app, runtime, logger: quiet, exit: (code) => void codes.push(code) });
  t.teardown(shutdown.uninstall);
  await shutdown.stop('SIGTERM');
  t.same(codes, [0]);
  t.ok(runtimeClosed, 'the runtime was closed');
});

t.test('a second signal exits 1 without waiting', async (t) => {
  const test = await startTestApp();
  t.teardown(test.close);
  const codes: number[] = [];
  let release!: () => void;
  const runtime = { ...test.runtime, close: () => new Promise<void>((resolve) => (release = resolve)) };
  const shutdown = installGracefulShutdown({ app: test.app, runtime, logger: quiet, exit: (code) => void codes.push(code) });
  t.teardown(shutdown.uninstall);
  const first = shutdown.stop('SIGTERM');
  await new Promise((resolve) => setTimeout(resolve, 100));
  await shutdown.stop('SIGINT');
  t.same(codes, [1], 'the second signal exits 1');
  release();
  await first;
});

t.test('a shutdown that outlasts its bound exits 1', async (t) => {
  const test = await startTestApp();
  t.teardown(test.close);
  const codes: number[] = [];
  const runtime = { ...test.runtime, close: () => new Promise<void>(() => undefined) };
  const shutdown = installGracefulShutdown({ app: test.app, runtime, logger: quiet, timeoutMs: 200, exit: (code) => void codes.push(code) });
  t.teardown(shutdown.uninstall);
  void shutdown.stop('SIGTERM');
  await new Promise((resolve) => setTimeout(resolve, 600));
  t.same(codes, [1]);
});
