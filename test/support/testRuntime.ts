/** A runtime on a fresh embedded store, plus the app, for tests that drive the API with inject(). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { buildApp } from '../../services/api/app.js';
import { loadConfig } from '../../services/shared/config.js';
import { startRuntime, type Runtime, type RuntimeOverrides } from '../../services/runtime.js';
import { ADMIN_TOKEN, GATEWAY_TOKEN } from './fixtures.js';

export type TestApp = { app: FastifyInstance; runtime: Runtime; dataDir: string; close: () => Promise<void> };

export async function startTestApp(env: Record<string, string> = {}, overrides: RuntimeOverrides = {}): Promise<TestApp> {
  const dataDir = mkdtempSync(join(tmpdir(), 'jit-test-'));
  const config = loadConfig({ JIT_DATA_DIR: dataDir, JIT_ADMIN_TOKENS: ADMIN_TOKEN, JIT_GATEWAY_TOKENS: GATEWAY_TOKEN, JIT_LOG_LEVEL: 'silent', ...env });
  const runtime = await startRuntime(config, pino({ level: 'silent' }), overrides);
  const app = await buildApp(runtime, { logger: false });
  await app.ready();
  return {
    app,
    runtime,
    dataDir,
    close: async () => {
      await app.close();
      await runtime.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
export const gateway = { authorization: `Bearer ${GATEWAY_TOKEN}` };

/** Waits until the read model has applied everything in the store. */
export async function settled(runtime: Runtime): Promise<void> {
  const head = await runtime.store.headPosition();
  await runtime.projector?.waitFor(head);
}
