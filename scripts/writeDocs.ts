/**
 * `make docs`: writes the published descriptions of the service —
 * docs/openapi.json, the OpenAPI document of the HTTP API as the app serves it at /docs/json
 * (built on a throwaway embedded store with every service, read through inject(), no socket), and
 * docs/asyncapi.yaml, the AsyncAPI document of the Kafka topics (scripts/generateAsyncApi.ts).
 * `--check` fails when a committed file differs from what the code generates.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pino from 'pino';
import { buildApp } from '../services/api/app.js';
import { loadConfig } from '../services/shared/config.js';
import { startRuntime } from '../services/runtime.js';
import { ASYNCAPI_FILE, asyncApiYaml } from './generateAsyncApi.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const OPENAPI_FILE = join(ROOT, 'docs', 'openapi.json');

export async function openApiJson(): Promise<string> {
  const dataDir = mkdtempSync(join(tmpdir(), 'jit-docs-'));
  try {
    // Only what the document depends on is configured: every service, nothing from the caller's environment.
    const runtime = await startRuntime(loadConfig({ JIT_DATA_DIR: dataDir, JIT_LOG_LEVEL: 'silent' }), pino({ level: 'silent' }));
    try {
      const app = await buildApp(runtime, { logger: false });
      try {
        const res = await app.inject({ method: 'GET', url: '/docs/json' });
        if (res.statusCode !== 200) throw new Error(`GET /docs/json answered ${res.statusCode}`);
        return `${JSON.stringify(res.json(), null, 2)}\n`;
      } finally {
        await app.close();
      }
    } finally {
      await runtime.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Every generated file with its content. */
export async function renderDocs(): Promise<Map<string, string>> {
  return new Map([
    [OPENAPI_FILE, await openApiJson()],
    [ASYNCAPI_FILE, asyncApiYaml()],
  ]);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const [file, text] of await renderDocs()) {
    if (check) {
      if ((await readFile(file, 'utf8').catch(() => '')) !== text) {
        process.stderr.write(`${relative(ROOT, file)} is out of date: run make docs\n`);
        stale += 1;
      }
    } else {
      await writeFile(file, text);
      process.stdout.write(`wrote ${relative(ROOT, file)}\n`);
    }
  }
  process.exitCode = stale > 0 ? 1 : 0;
}
