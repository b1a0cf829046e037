/**
 * make bench: starts PostgreSQL and Kafka (the project's own scripts), runs every benchmark on
 * throwaway databases and topic prefixes, prints the machine facts and a table, and writes
 * bench/results.json. Every figure is compared with a baseline measured in the same run.
 *
 *   node --import tsx bench/run.ts [--only ingest,replay,list,saml] [--quick] [--profile] [--ingest-processes 1|2]
 *
 * --quick shrinks the fixtures and durations (a smoke test, not a measurement); --profile writes
 * V8 CPU profiles of the measured processes to bench/.profiles/.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { ingestBenchmark } from './ingest.js';
import { listBenchmark } from './list.js';
import { describeMachine, machineFacts } from './lib/machine.js';
import { renderTable, type BenchResult } from './lib/results.js';
import { replayBenchmark } from './replay.js';
import { samlBenchmark } from './saml.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RESULTS = fileURLToPath(new URL('./results.json', import.meta.url));
const KAFKA_BROKERS = process.env['JIT_BENCH_KAFKA_BROKERS'] ?? `127.0.0.1:${process.env['JIT_KAFKA_PORT'] ?? '9092'}`;
const ALL = ['ingest', 'replay', 'list', 'saml'] as const;

const run = promisify(execFile);
const started = performance.now();
const log = (line: string) => process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);

async function ensureComponents(): Promise<void> {
  log((await run('bash', ['deploy/postgres/ensure.sh'], { cwd: ROOT })).stdout.trim());
  const status = await run('bash', ['deploy/kafka/kafka.sh', 'status'], { cwd: ROOT }).then(() => true, () => false);
  if (!status) log((await run('bash', ['deploy/kafka/kafka.sh', 'up'], { cwd: ROOT, timeout: 300_000 })).stdout.trim().split('\n').at(-1) ?? 'kafka up');
}

const { values } = parseArgs({ options: { only: { type: 'string' }, quick: { type: 'boolean', default: false }, profile: { type: 'boolean', default: false }, 'ingest-processes': { type: 'string', default: '2' } } });
const only = new Set((values.only ?? ALL.join(',')).split(',').map((s) => s.trim()));
for (const name of only) if (!(ALL as readonly string[]).includes(name)) throw new Error(`unknown benchmark ${name}; expected some of ${ALL.join(', ')}`);
const quick = values.quick;
const profile = values.profile;
const ingestProcesses = Number(values['ingest-processes']);
if (ingestProcesses !== 1 && ingestProcesses !== 2) throw new Error('--ingest-processes is 1 or 2');

await ensureComponents();
const facts = await machineFacts();
process.stdout.write(`${describeMachine(facts)}\n\n`);

const results: BenchResult[] = [];
const failures: string[] = [];
const attempt = async (name: string, work: () => Promise<BenchResult[]>) => {
  log(`${name}: starting`);
  try {
    results.push(...(await work()));
  } catch (error) {
    failures.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
    log(`${name}: FAILED ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  }
};

if (only.has('ingest')) {
  await attempt('ingest', () =>
    ingestBenchmark({ seconds: quick ? 5 : 20, connections: 64, population: quick ? 500 : 3000, samples: quick ? 40 : 200, kafkaBrokers: KAFKA_BROKERS, processes: ingestProcesses, seed: 11, profile, log }),
  );
}
if (only.has('replay') || only.has('list')) {
  const events = quick ? 100_000 : 1_000_000;
  const users = quick ? 10_000 : 100_000;
  let replayed: Awaited<ReturnType<typeof replayBenchmark>> | undefined;
  await attempt('replay', async () => {
    replayed = await replayBenchmark({ events, users, seed: 1, profile, log });
    return only.has('replay') ? replayed.results : [];
  });
  if (only.has('list') && replayed) {
    const { database } = replayed;
    await attempt('list', () => listBenchmark({ databaseUrl: database.url, users: replayed!.users, seconds: quick ? 4 : 10, connections: 8, profile, log }));
  }
  await replayed?.database.drop().catch(() => undefined);
}
if (only.has('saml')) await attempt('saml', () => samlBenchmark({ responses: quick ? 100 : 400, profile, log }));

const table = renderTable(results);
process.stdout.write(`${table}\n`);
writeFileSync(RESULTS, `${JSON.stringify({ measuredAt: new Date().toISOString(), machine: facts, quick, results, failures }, null, 2)}\n`);
process.stdout.write(`\nwrote ${RESULTS} (${((performance.now() - started) / 1000).toFixed(0)} s)\n`);
if (failures.length > 0) {
  process.stdout.write(`\nFAILED:\n${failures.map((f) => `  ${f}`).join('\n')}\n`);
  process.exitCode = 1;
}
