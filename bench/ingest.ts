/**
 * ingest: logins per second through POST /rest/jit/1.0/logins on a listening server (PostgreSQL
 * event store, relay to Kafka, projections from Kafka), 64 keep-alive connections, a mix of 20%
 * first logins, 60% unchanged re-logins and 20% re-logins with changes; and the p50/p99 time from
 * the HTTP answer until the change is visible in the read model that GET /jit-users serves. By
 * default the roles run as the Helm chart deploys them: api+provisioning in one process, relay+
 * projections in another (--ingest-processes 1 puts them all in one).
 * Baseline: "the same number of durable single-row inserts per login": durable single-row inserts
 * (one INSERT per transaction, synchronous_commit on) into the same PostgreSQL from 64 connections,
 * divided by the rows a login durably writes on its own path (counted in the run from PostgreSQL's
 * table statistics: event rows, stream heads, claims, the log head, the login snapshot). The
 * pipeline's later writes (read model, checkpoints) are reported but not counted, and the bare
 * insert rate (one insert per login) is reported too.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { LoginSucceeded } from '../schemas/types.gen.js';
import { READ_MODEL_CHANNEL } from '../services/projections/postgresReadModel.js';
import { usernameKey } from '../services/provisioning/user/normalize.js';
import { samlIdp } from '../test/support/fixtures.js';
import { cannon } from './lib/cannon.js';
import { profiled } from './lib/selfProfile.js';
import { cpuSecondsBetween, describeCpuPer, snapshotCpu, type Grouping } from './lib/cpu.js';
import { createBenchDatabase } from './lib/postgres.js';
import { seededRandom, type Random } from './lib/prng.js';
import { limitResult, ratioResult, type BenchResult } from './lib/results.js';
import { startServer } from './lib/serverProcess.js';

export type IngestSettings = {
  seconds: number;
  connections: number;
  population: number;
  samples: number;
  kafkaBrokers: string;
  /** 1: every role in one process; 2: api+provisioning and relay+projections apart (the Helm chart's split). */
  processes: 1 | 2;
  seed: number;
  profile: boolean;
  log: (line: string) => void;
};

const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';
const GATEWAY_TOKEN = 'bench-gateway-token-0123456789abcdef';
const LOGINS = '/rest/jit/1.0/logins';
const GROUPS = ['jira-users', 'confluence-users', 'developers', 'qa', 'ops', 'design', 'support', 'team-alpha', 'team-beta', 'emea'];
const VISIBILITY_LIMIT_MS = 250;

type Attributes = { displayName: string[]; email: string[]; groups: string[] };
type Identity = { subject: string; attributes: Attributes };

function newIdentity(random: Random, subject: string): Identity {
  const groups = new Set<string>();
  const n = 1 + random.int(3);
  while (groups.size < n) groups.add(random.pick(GROUPS));
  return { subject, attributes: { displayName: [`User ${subject}`], email: [`${subject}@example.com`], groups: [...groups] } };
}

function changed(random: Random, identity: Identity): Identity {
  const a = identity.attributes;
  const kind = random.int(3);
  if (kind === 0) return { ...identity, attributes: { ...a, displayName: [`User ${identity.subject} ${random.int(1e6)}`] } };
  if (kind === 1) return { ...identity, attributes: { ...a, email: [`${identity.subject}+${random.int(1e6)}@example.com`] } };
  const extra = random.pick(GROUPS);
  const groups = a.groups.includes(extra) ? a.groups.filter((g) => g !== extra) : [...a.groups, extra];
  return { ...identity, attributes: { ...a, groups: groups.length > 0 ? groups : [extra] } };
}

function loginBody(random: Random, identity: Identity): LoginSucceeded {
  return { loginId: random.uuid(), idpId: 'okta', protocol: 'saml', subject: identity.subject, attributes: identity.attributes, authenticatedAt: new Date().toISOString() };
}

/** Durable single-row inserts from `connections` connections for `seconds`: inserts per second, and CPU per insert. */
async function insertBaseline(url: string, connections: number, seconds: number, grouping: Grouping): Promise<{ rate: number; cpu: string }> {
  const pool = new pg.Pool({ connectionString: url, max: connections });
  try {
    await pool.query('CREATE TABLE bench_inserts (id UUID PRIMARY KEY, payload TEXT NOT NULL, at TIMESTAMPTZ NOT NULL DEFAULT now())');
    const { rows } = await pool.query<{ synchronous_commit: string }>('SHOW synchronous_commit');
    if (rows[0]?.synchronous_commit !== 'on') throw new Error(`synchronous_commit is ${rows[0]?.synchronous_commit}; the baseline needs it on`);
    const payload = 'x'.repeat(200);
    const random = seededRandom(7);
    let count = 0;
    const worker = async (deadline: number) => {
      while (performance.now() < deadline) {
        await pool.query('INSERT INTO bench_inserts (id, payload) VALUES ($1, $2)', [random.uuid(), payload]);
        count += 1;
      }
    };
    await Promise.all(Array.from({ length: connections }, () => worker(performance.now() + 1000)));
    count = 0;
    const cpuBefore = snapshotCpu(grouping);
    const started = performance.now();
    await Promise.all(Array.from({ length: connections }, () => worker(started + seconds * 1000)));
    const rate = count / ((performance.now() - started) / 1000);
    return { rate, cpu: describeCpuPer(cpuSecondsBetween(cpuBefore, snapshotCpu(grouping)), count, 'insert') };
  } finally {
    await pool.end();
  }
}

/** Tables a login writes before it is answered: the event store's and the login snapshot. */
const LOGIN_PATH_TABLES = ['jit_events', 'jit_streams', 'jit_claims', 'jit_log_head', 'jit_login_snapshots'];

/** Rows inserted, updated or deleted per table so far (PostgreSQL's cumulative statistics). */
async function rowWrites(pool: pg.Pool): Promise<Map<string, number>> {
  const { rows } = await pool.query<{ relname: string; writes: string }>(
    'SELECT relname, n_tup_ins + n_tup_upd + n_tup_del AS writes FROM pg_stat_user_tables',
  );
  return new Map(rows.map((r) => [r.relname, Number(r.writes)]));
}

/**
 * The statistics once the login-path tables stop moving: a backend reports its counts when a
 * transaction ends or, at the latest, about a second after it goes idle.
 */
async function settledRowWrites(pool: pg.Pool): Promise<Map<string, number>> {
  let last = await rowWrites(pool);
  for (let i = 0; i < 20; i++) {
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const next = await rowWrites(pool);
    if (LOGIN_PATH_TABLES.every((t) => next.get(t) === last.get(t))) return next;
    last = next;
  }
  return last;
}

/** Mean login handling and event-store append time, and the pipeline delays, from the services' own /metrics. */
async function timeBreakdown(urls: readonly string[]): Promise<string> {
  const text = (await Promise.all(urls.map(async (url) => (await fetch(`${url}/metrics`)).text()))).join('\n');
  const lines = text.split('\n');
  const total = (name: string) => {
    let sum = 0;
    for (const line of lines) if (line.startsWith(name)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    return sum;
  };
  const mean = (histogram: string) => {
    const count = total(`${histogram}_count`);
    return count === 0 ? 'n/a' : `${((total(`${histogram}_sum`) / count) * 1000).toFixed(1)} ms over ${count}`;
  };
  /** The upper bound of the bucket that holds the p-th percentile (Prometheus histograms only know buckets). */
  const bucketPercentile = (histogram: string, p: number) => {
    const buckets = lines
      .filter((line) => line.startsWith(`${histogram}_bucket{`))
      .map((line) => ({ le: Number(/le="([^"]+)"/.exec(line)![1]), count: Number(line.slice(line.lastIndexOf(' ') + 1)) }));
    const count = total(`${histogram}_count`);
    const bound = buckets.find((b) => b.count >= (p / 100) * count)?.le;
    return bound === undefined || count === 0 ? 'n/a' : `≤ ${bound * 1000} ms`;
  };
  const delay = (histogram: string) => `${mean(histogram)}, p99 ${bucketPercentile(histogram, 99)}`;
  return [
    `login handling ${mean('jit_login_duration_seconds')}, append ${mean('jit_event_store_append_seconds')}, HTTP ${mean('jit_http_request_duration_seconds')}`,
    `recorded → Kafka ack ${delay('jit_relay_publish_delay_seconds')}; recorded → read model ${delay('jit_projection_delay_seconds')}`,
  ].join('; ');
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

export async function ingestBenchmark(settings: IngestSettings): Promise<BenchResult[]> {
  const { log } = settings;
  const random = seededRandom(settings.seed);
  const database = await createBenchDatabase('ingest');
  const dir = mkdtempSync(join(tmpdir(), 'jit-bench-ingest-'));
  const prefix = `bench.${randomBytes(4).toString('hex')}.`;
  try {
    const grouping = (servers: readonly { pid: number; role: string }[]): Grouping => (pid, command) => {
      if (pid === process.pid) return 'load generator';
      const server = servers.find((s) => s.pid === pid);
      if (server) return server.role;
      if (command.startsWith('postgres')) return 'postgresql';
      if (command.includes('kafka.Kafka')) return 'kafka';
      return undefined;
    };
    const { rate: baseline, cpu: baselineCpu } = await insertBaseline(database.url, settings.connections, settings.seconds, grouping([]));
    log(`baseline: ${baseline.toFixed(0)} durable single-row inserts/s from ${settings.connections} connections; ${baselineCpu}`);

    const idpsFile = join(dir, 'idps.json');
    writeFileSync(idpsFile, JSON.stringify([samlIdp({ id: 'okta' })]));
    const env = {
      JIT_DATABASE_URL: database.url,
      JIT_KAFKA_BROKERS: settings.kafkaBrokers,
      JIT_KAFKA_TOPIC_PREFIX: prefix,
      JIT_ADMIN_TOKENS: ADMIN_TOKEN,
      JIT_GATEWAY_TOKENS: GATEWAY_TOKEN,
      JIT_IDPS_FILE: idpsFile,
      JIT_LOG_LEVEL: 'silent',
    };
    const roles = settings.processes === 1 ? ['api,provisioning,relay,projections'] : ['api,provisioning', 'relay,projections'];
    const servers = [];
    for (const [i, services] of roles.entries()) {
      servers.push(await startServer(['jit'], { ...env, JIT_SERVICES: services }, settings.profile ? { profile: `ingest-${i}` } : {}));
    }
    const server = servers[0]!;
    const byRole = grouping(servers.map((s, i) => ({ pid: s.pid, role: roles[i]!.replaceAll(',', '+') })));
    log(`ingest: ${roles.map((r) => `[${r}]`).join(' + ')} in ${roles.length} process${roles.length === 1 ? '' : 'es'}`);
    const readModel = new pg.Pool({ connectionString: database.url, max: 4 });
    // The projector notifies READ_MODEL_CHANNEL after each committed batch: a sampler re-reads
    // then (or after 20 ms at the latest) instead of polling in a tight loop, whose queries would
    // load the same two cores the service runs on.
    const listener = new pg.Client({ connectionString: database.url });
    await listener.connect();
    await listener.query(`LISTEN ${READ_MODEL_CHANNEL}`);
    let wake: (() => void)[] = [];
    listener.on('notification', () => {
      const waiting = wake;
      wake = [];
      for (const resolve of waiting) resolve();
    });
    const readModelChanged = () =>
      new Promise<void>((resolve) => {
        wake.push(resolve);
        setTimeout(resolve, 20);
      });
    try {
      const headers = { authorization: `Bearer ${GATEWAY_TOKEN}`, 'content-type': 'application/json' };
      const post = async (identity: Identity): Promise<string> => {
        const res = await fetch(`${server.url}${LOGINS}`, { method: 'POST', headers, body: JSON.stringify(loginBody(random, identity)) });
        const text = await res.text();
        if (res.status !== 200) throw new Error(`login answered ${res.status}: ${text}`);
        return text;
      };

      // The population that re-logs in: provisioned through the API itself.
      // Every identity logged in so far, and where each subject sits in that list (a linear
      // search per response would cost the load generator more CPU than the rest of its work).
      const known: Identity[] = [];
      const slot = new Map<string, number>();
      const remember = (identity: Identity) => {
        const index = slot.get(identity.subject);
        if (index === undefined) slot.set(identity.subject, known.push(identity) - 1);
        else known[index] = identity;
      };
      let created = 0;
      const provision = async () => {
        while (created < settings.population) {
          const identity = newIdentity(random, `pop-${created++}`);
          await post(identity);
          remember(identity);
        }
      };
      const started = performance.now();
      await Promise.all(Array.from({ length: settings.connections }, provision));
      log(`provisioned ${known.length} users through the API in ${((performance.now() - started) / 1000).toFixed(1)} s`);

      // Visibility: a few samplers log in (first logins and changes) and poll the read model.
      const visibility: number[] = [];
      let sampling = true;
      let sampled = 0;
      const sampler = async (id: number) => {
        while (sampling && visibility.length < settings.samples) {
          const first = sampled % 2 === 0;
          const identity = first ? newIdentity(random, `vis-${id}-${sampled}`) : changed(random, known[random.int(known.length)]!);
          sampled += 1;
          if (!first) remember(identity);
          await post(identity);
          const answered = performance.now();
          const key = usernameKey(identity.subject);
          for (;;) {
            // Armed before the read, so a commit between the read and the wait still wakes it.
            const changed = readModelChanged();
            const { rows } = await readModel.query<{ display_name: string; email: string }>(
              'SELECT display_name, email FROM jit_users WHERE username_key COLLATE "C" = $1::text COLLATE "C"',
              [key],
            );
            const row = rows[0];
            if (row && row.display_name === identity.attributes.displayName[0] && row.email === identity.attributes.email[0]) break;
            if (performance.now() - answered > 30_000) throw new Error(`login of ${identity.subject} not visible after 30 s`);
            await changed;
          }
          visibility.push(performance.now() - answered);
        }
      };

      // The load: per connection, identities it owns, so no two requests for one identity overlap.
      const busy = new Set<string>();
      const outcomes: Record<string, number> = {};
      let fresh = 0;
      const pickKnown = (): Identity | undefined => {
        for (let i = 0; i < 8; i++) {
          const candidate = known[random.int(known.length)]!;
          if (!busy.has(candidate.subject)) return candidate;
        }
        return undefined;
      };
      const statistics = new pg.Pool({ connectionString: database.url, max: 1 });
      const writesBefore = await settledRowWrites(statistics);
      const sampledBefore = sampled;
      const cpuBefore = snapshotCpu(byRole);
      const samplers = Promise.all([0, 1].map(sampler));
      const result = await profiled(settings.profile ? 'ingest-load-generator' : undefined, () => cannon({
        url: server.url,
        connections: settings.connections,
        duration: settings.seconds,
        timeout: 30,
        requests: [
          {
            method: 'POST',
            path: LOGINS,
            headers,
            setupRequest(request, context) {
              const roll = random.next();
              let identity = roll < 0.2 ? undefined : pickKnown();
              if (identity && roll >= 0.8) identity = changed(random, identity);
              identity ??= newIdentity(random, `new-${fresh++}`);
              busy.add(identity.subject);
              context['identity'] = identity;
              return { ...request, body: JSON.stringify(loginBody(random, identity)) };
            },
            onResponse(status, body, context) {
              const identity = context['identity'] as Identity;
              busy.delete(identity.subject);
              if (status !== 200) return;
              const outcome = /"outcome":"([a-z]+)"/.exec(body)?.[1] ?? 'unknown';
              outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
              remember(identity);
            },
          },
        ],
      }));
      const cpuAfter = snapshotCpu(byRole);
      sampling = false;
      await samplers;
      const logins = result.requests + (sampled - sampledBefore);
      const writesAfter = await settledRowWrites(statistics);
      await statistics.end();
      const perLogin = [...writesAfter]
        .map(([table, n]) => [table, (n - (writesBefore.get(table) ?? 0)) / logins] as const)
        .filter(([, n]) => n > 0)
        .sort((a, b) => b[1] - a[1]);
      const onPath = perLogin.filter(([table]) => LOGIN_PATH_TABLES.includes(table));
      const rowsPerLogin = onPath.reduce((sum, [, n]) => sum + n, 0);
      const describe = (rows: typeof perLogin) => rows.map(([table, n]) => `${table} ${n.toFixed(2)}`).join(', ');
      log(`ingest: rows written per login on its path: ${rowsPerLogin.toFixed(2)} (${describe(onPath)}); afterwards: ${describe(perLogin.filter(([table]) => !LOGIN_PATH_TABLES.includes(table)))}`);
      log(`ingest: ${describeCpuPer(cpuSecondsBetween(cpuBefore, cpuAfter), result.requests, 'login')}`);
      log(`ingest: where the time went (service metrics, means): ${await timeBreakdown(servers.map((s) => s.url))}`);
      log(`ingest: ${result.requestsPerSecond.toFixed(0)} logins/s (${JSON.stringify(outcomes)}), p50 ${result.p50} ms, p99 ${result.p99} ms, ${result.errors} errors, ${result.non2xx} non-2xx`);
      if (result.errors + result.non2xx > 0) throw new Error('the ingest benchmark saw failed logins');
      const sorted = [...visibility].sort((a, b) => a - b);
      const p50 = percentile(sorted, 50);
      const p99 = percentile(sorted, 99);
      log(`visibility over ${sorted.length} logins: p50 ${p50.toFixed(0)} ms, p99 ${p99.toFixed(0)} ms, max ${sorted.at(-1)?.toFixed(0)} ms`);
      const mix = Object.entries(outcomes).map(([k, v]) => `${k} ${v}`).join(', ');
      if (!(rowsPerLogin >= 1)) throw new Error(`counted ${rowsPerLogin} rows per login: PostgreSQL's table statistics are off (track_counts)?`);
      const baselineLogins = baseline / rowsPerLogin;
      log(`baseline: ${baseline.toFixed(0)} inserts/s ÷ ${rowsPerLogin.toFixed(2)} rows per login = ${baselineLogins.toFixed(0)} logins/s; against one insert per login the ratio would be ${(result.requestsPerSecond / baseline).toFixed(2)}×`);
      return [
        ratioResult(
          'ingest',
          `logins/s, ${settings.connections} connections, ${roles.length} process${roles.length === 1 ? '' : 'es'}`,
          'logins/s',
          result.requestsPerSecond,
          baselineLogins,
          1.0,
          `baseline ${baseline.toFixed(0)} durable single-row inserts/s ÷ ${rowsPerLogin.toFixed(2)} rows a login writes (${describe(onPath)}); ${(result.requestsPerSecond / baseline).toFixed(3)}× one insert per login; p99 answer ${result.p99} ms; ${mix}`,
          'logins/s',
        ),
        limitResult('ingest', 'visibility p50', 'ms', p50, VISIBILITY_LIMIT_MS, `${sorted.length} samples under load`),
        limitResult('ingest', 'visibility p99', 'ms', p99, VISIBILITY_LIMIT_MS, `${sorted.length} samples under load`),
      ];
    } finally {
      await readModel.end();
      await listener.end();
      for (const running of servers) await running.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await database.drop().catch(() => undefined);
  }
}
