/**
 * replay: events per second of `jit replay` (a fresh read model built from 1,000,000 events, then
 * swapped in) on PostgreSQL and on SQLite. Baseline: reading the same log back with readAll in the
 * replay's batch size, without projecting it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EventStore } from '../services/shared/eventStore/eventStore.js';
import { getPostgresEventStore } from '../services/shared/eventStore/postgresEventStore.js';
import { getSqliteEventStore } from '../services/shared/eventStore/sqliteEventStore.js';
import { createPgPool } from '../services/shared/postgres/database.js';
import { openSqliteDatabase } from '../services/shared/sqlite/database.js';
import { cachedEventLog } from './fixtures/cachedEventLog.js';
import { loadIntoPostgres, loadIntoSqlite } from './fixtures/loadEventLog.js';
import { runTs } from './lib/child.js';
import { createBenchDatabase, type BenchDatabase } from './lib/postgres.js';
import { ratioResult, type BenchResult } from './lib/results.js';

const JIT_CLI = fileURLToPath(new URL('./jitCli.ts', import.meta.url));
/** services/projections/replay.ts reads in batches of this size. */
const REPLAY_BATCH = 5000;
const TARGET = 0.5;

export type ReplaySettings = { events: number; users: number; seed: number; profile: boolean; log: (line: string) => void };

async function readEverything(store: EventStore): Promise<{ events: number; seconds: number }> {
  const started = performance.now();
  let after = 0;
  let events = 0;
  for (;;) {
    const batch = await store.readAll({ after, maxCount: REPLAY_BATCH });
    if (batch.length === 0) break;
    events += batch.length;
    after = batch.at(-1)!.position;
  }
  return { events, seconds: (performance.now() - started) / 1000 };
}

async function bareRead(open: () => Promise<{ store: EventStore; close: () => Promise<void> }>): Promise<number> {
  const { store, close } = await open();
  try {
    const { events, seconds } = await readEverything(store);
    return events / seconds;
  } finally {
    await close();
  }
}

async function jitReplay(env: Record<string, string>, profile: string | undefined): Promise<{ rate: number; seconds: number; events: number }> {
  const { stdout } = await runTs(JIT_CLI, ['replay'], { JIT_LOG_LEVEL: 'silent', ...env }, profile ? { profile } : {});
  const match = /replayed (\d+) events in ([\d.]+) s/.exec(stdout);
  if (!match) throw new Error(`jit replay printed no summary: ${stdout}`);
  const events = Number(match[1]);
  const seconds = Number(match[2]);
  return { rate: events / seconds, seconds, events };
}

/** Runs the replay benchmark; hands back the PostgreSQL database (with its 100k-user read model) for the list benchmark. */
export async function replayBenchmark(settings: ReplaySettings): Promise<{ results: BenchResult[]; database: BenchDatabase; users: number }> {
  const { log } = settings;
  const eventLog = await cachedEventLog({ events: settings.events, users: settings.users, seed: settings.seed }, log);
  const database = await createBenchDatabase('replay');
  const dataDir = mkdtempSync(join(tmpdir(), 'jit-bench-sqlite-'));
  const results: BenchResult[] = [];
  try {
    const started = performance.now();
    await Promise.all([loadIntoPostgres(database.url, eventLog), loadIntoSqlite(dataDir, eventLog)]);
    log(`loaded ${eventLog.head} events into PostgreSQL and SQLite in ${((performance.now() - started) / 1000).toFixed(1)} s`);

    const openPg = async () => {
      const pool = createPgPool(database.url, { max: 2 });
      const store = await getPostgresEventStore(pool);
      return {
        store,
        close: async () => {
          await store.close();
          await pool.end();
        },
      };
    };
    const pgBaseline = await bareRead(openPg);
    const pg = await jitReplay({ JIT_DATABASE_URL: database.url }, settings.profile ? 'replay-postgres' : undefined);
    log(`PostgreSQL: jit replay ${pg.events} events in ${pg.seconds.toFixed(1)} s (${pg.rate.toFixed(0)}/s); bare readAll ${pgBaseline.toFixed(0)}/s`);
    results.push(ratioResult('replay', 'jit replay, PostgreSQL', 'events/s', pg.rate, pgBaseline, TARGET, `${pg.events} events in ${pg.seconds.toFixed(1)} s`));

    const openSqlite = async () => {
      const db = openSqliteDatabase({ dataDir });
      const store = getSqliteEventStore(db);
      return {
        store,
        close: async () => {
          await store.close();
          db.close();
        },
      };
    };
    const sqliteBaseline = await bareRead(openSqlite);
    const sqlite = await jitReplay({ JIT_DATA_DIR: dataDir }, settings.profile ? 'replay-sqlite' : undefined);
    log(`SQLite: jit replay ${sqlite.events} events in ${sqlite.seconds.toFixed(1)} s (${sqlite.rate.toFixed(0)}/s); bare readAll ${sqliteBaseline.toFixed(0)}/s`);
    results.push(ratioResult('replay', 'jit replay, SQLite', 'events/s', sqlite.rate, sqliteBaseline, TARGET, `${sqlite.events} events in ${sqlite.seconds.toFixed(1)} s`));
    return { results, database, users: eventLog.users };
  } catch (error) {
    await database.drop().catch(() => undefined);
    throw error;
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
