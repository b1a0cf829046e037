/**
 * A benchmark server in its own process, so that load generation never shares an event loop with
 * it. `node --import tsx bench/server.ts jit` runs the real service (runtime from JIT_* variables,
 * buildApp, listen); `... bare <file> <headers-json>` runs a bare Fastify route answering the
 * bytes of <file> with those headers from memory (the list baseline). Prints `listening <port>`.
 */
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';
import pino from 'pino';
import { buildApp } from '../services/api/app.js';
import { startRuntime } from '../services/runtime.js';
import { loadConfig } from '../services/shared/config.js';

const [mode, file, headersJson] = process.argv.slice(2);

async function main(): Promise<() => Promise<void>> {
  if (mode === 'bare') {
    const body = readFileSync(file!);
    const headers = JSON.parse(headersJson ?? '{}') as Record<string, string>;
    const app = Fastify({ logger: false });
    app.get('/*', (_request, reply) => reply.headers(headers).send(body));
    await app.listen({ host: '127.0.0.1', port: 0 });
    process.stdout.write(`listening ${(app.server.address() as { port: number }).port}\n`);
    return () => app.close();
  }
  const config = loadConfig(process.env);
  const runtime = await startRuntime(config, pino({ level: 'silent' }));
  const app = await buildApp(runtime, { logger: false });
  await app.listen({ host: '127.0.0.1', port: 0 });
  process.stdout.write(`listening ${(app.server.address() as { port: number }).port}\n`);
  return async () => {
    await app.close();
    await runtime.close();
  };
}

const close = await main();
let closing = false;
const stop = () => {
  if (closing) return;
  closing = true;
  const timer = setTimeout(() => process.exit(1), 15_000);
  timer.unref();
  void close().then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.on('disconnect', stop);
