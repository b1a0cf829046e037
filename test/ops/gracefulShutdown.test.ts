/**
 * SIGTERM on a real `jit serve` process (dist/, as deployed) while a stream of logins is in flight:
 * it exits 0 within the bound; every request that got an answer got 200, or a clean 503 after the
 * shutdown began; requests in flight at the signal are finished; and afterwards the store holds
 * only whole logins, the read model equals the fold of the store (embedded mode) and every user
 * event is on jit.users.v1 (Kafka mode: the relay flushed before exiting).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { openBackends } from '../../services/backends.js';
import { SHUTDOWN_TIMEOUT_MS } from '../../services/cli/shutdown.js';
import { LIVE_PROJECTION } from '../../services/projections/readModel.js';
import { RELAY_CHECKPOINT } from '../../services/relay/relay.js';
import { loadConfig } from '../../services/shared/config.js';
import { topicNames } from '../../services/shared/kafka/kafkaClient.js';
import { checkReadModelAgainstStore, checkTopicAgainstStore, describeReadModelReport, describeTopicReport, readTopicRecords } from '../support/convergence.js';
import { ADMIN_TOKEN, GATEWAY_TOKEN, samlIdp, samlLogin } from '../support/fixtures.js';
import { assertKafkaReachable, KAFKA_BROKERS, testKafka, uniquePrefix } from '../support/kafka.js';
import { processGroup, type JitProcess } from '../support/processes.js';

type Sent = { loginId: string; sentAt: number; answeredAt?: number; status?: number; error?: string };

const SERVICES = ['gateway', 'api', 'provisioning', 'relay', 'projections'];

function dataDirWithIdp(t: Test): { dataDir: string; idpsFile: string } {
  const dataDir = mkdtempSync(join(tmpdir(), 'jit-shutdown-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const idpsFile = join(dataDir, 'idps.json');
  writeFileSync(idpsFile, JSON.stringify([samlIdp()]));
  return { dataDir, idpsFile };
}

/**
 * Workers post logins (each a first login with a few groups) until the server stops answering;
 * once `inFlight` reaches the threshold after `warmUp` answers, SIGTERM goes out.
 */
async function loginsThroughShutdown(t: Test, jit: JitProcess, options: { workers: number; warmUp: number; inFlightAtSignal: number }) {
  const sent: Sent[] = [];
  let inFlight = 0;
  let answered = 0;
  let signalAt = 0;
  let inFlightAtSignal = 0;
  let exit: Promise<{ code: number | null; ms: number }> | undefined;
  const url = `${jit.url()}/rest/jit/1.0/logins`;
  const worker = async (w: number) => {
    for (let n = 0; ; n++) {
      const login = samlLogin(`shutdown-${w}-${n}`, { groups: ['jira-users', `team-${w}`, `batch-${n % 5}`] });
      const entry: Sent = { loginId: login.loginId, sentAt: Date.now() };
      sent.push(entry);
      inFlight += 1;
      if (!exit && answered >= options.warmUp && inFlight >= options.inFlightAtSignal) {
        signalAt = Date.now();
        inFlightAtSignal = inFlight;
        const started = Date.now();
        exit = jit.stop(SHUTDOWN_TIMEOUT_MS + 15_000).then((code) => ({ code, ms: Date.now() - started }));
      }
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: { authorization: `Bearer ${GATEWAY_TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify(login),
          signal: AbortSignal.timeout(SHUTDOWN_TIMEOUT_MS + 15_000),
        });
        await res.arrayBuffer();
        entry.status = res.status;
        answered += 1;
      } catch (error) {
        entry.error = error instanceof Error ? `${error.message} ${String((error.cause as Error | undefined)?.message ?? '')}` : String(error);
      } finally {
        entry.answeredAt = Date.now();
        inFlight -= 1;
      }
      if (entry.error !== undefined || entry.status === 503) return;
    }
  };
  await Promise.all(Array.from({ length: options.workers }, (_, w) => worker(w)));
  t.ok(exit, 'SIGTERM was sent while logins were in flight');
  const result = await exit!;
  return { sent, signalAt, inFlightAtSignal, ...result };
}

function checkAnswers(t: Test, run: Awaited<ReturnType<typeof loginsThroughShutdown>>, jit: JitProcess): Set<string> {
  const { sent, signalAt } = run;
  t.equal(run.code, 0, `exit code 0 (${run.ms} ms after SIGTERM)`);
  t.ok(run.ms < SHUTDOWN_TIMEOUT_MS, `stopped within the bound (${run.ms} ms < ${SHUTDOWN_TIMEOUT_MS} ms)`);
  const wrong = sent.filter((s) => s.status !== undefined && s.status !== 200 && !(s.status === 503 && (s.answeredAt ?? 0) >= signalAt));
  t.same(wrong, [], 'every answer is 200, or 503 once the shutdown began');
  const finished = sent.filter((s) => s.sentAt < signalAt && (s.answeredAt ?? 0) >= signalAt && s.status === 200);
  t.ok(finished.length > 0, `logins in flight at the signal were finished (${finished.length} of ${run.inFlightAtSignal} answered 200 after it)`);
  t.ok(jit.logLines(/^shut down cleanly$/).length === 1, 'the process logged a clean shutdown');
  t.comment(`${sent.length} logins sent, ${sent.filter((s) => s.status === 200).length} answered 200, ${sent.filter((s) => s.status === 503).length} 503, ${sent.filter((s) => s.error).length} without an answer (${sent.filter((s) => s.error && s.sentAt < signalAt).length} of them sent before the signal)`);
  return new Set(sent.filter((s) => s.status === 200).map((s) => s.loginId));
}

t.test('embedded mode: SIGTERM during a login stream', async (t) => {
  const { dataDir, idpsFile } = dataDirWithIdp(t);
  const group = processGroup(t, 'shutdown');
  const jit = await group.start({
    name: 'all',
    services: SERVICES,
    env: { JIT_DATA_DIR: dataDir, JIT_ADMIN_TOKENS: ADMIN_TOKEN, JIT_GATEWAY_TOKENS: GATEWAY_TOKEN, JIT_IDPS_FILE: idpsFile },
    readiness: '/readyz',
  });
  const run = await loginsThroughShutdown(t, jit, { workers: 12, warmUp: 100, inFlightAtSignal: 8 });
  const ok = checkAnswers(t, run, jit);

  const backends = await openBackends(loadConfig({ JIT_DATA_DIR: dataDir, JIT_LOG_LEVEL: 'silent' }));
  t.teardown(() => backends.close());
  const events = await backends.store.readAll();
  const byLogin = new Map<string, string[]>();
  for (const event of events) {
    const loginId = event.metadata.loginId;
    if (loginId) byLogin.set(loginId, [...(byLogin.get(loginId) ?? []), event.type]);
  }
  t.same([...ok].filter((id) => !byLogin.has(id)), [], 'every login answered 200 is in the store');
  t.same(
    [...byLogin].filter(([, types]) => types.join(',') !== 'UserProvisioned,UserLoggedIn'),
    [],
    'every login in the store is whole (UserProvisioned with its UserLoggedIn)',
  );
  const report = await checkReadModelAgainstStore(backends.store, backends.readModel);
  t.same(report.mismatches, [], `the read model equals the fold of the store: ${describeReadModelReport(report)}`);
  t.equal(report.foldedUsers, byLogin.size);
  t.equal(await backends.readModel.checkpoint(LIVE_PROJECTION), await backends.store.headPosition(), 'the projection caught up before the process exited');
});

t.test('Kafka mode: the relay publishes everything committed before the process exits', async (t) => {
  await assertKafkaReachable();
  const { dataDir, idpsFile } = dataDirWithIdp(t);
  const prefix = uniquePrefix('shutdown');
  const group = processGroup(t, 'shutdown-kafka');
  const jit = await group.start({
    name: 'all-kafka',
    services: SERVICES,
    env: {
      JIT_DATA_DIR: dataDir,
      JIT_ADMIN_TOKENS: ADMIN_TOKEN,
      JIT_GATEWAY_TOKENS: GATEWAY_TOKEN,
      JIT_IDPS_FILE: idpsFile,
      JIT_KAFKA_BROKERS: KAFKA_BROKERS,
      JIT_KAFKA_TOPIC_PREFIX: prefix,
    },
    readiness: '/readyz',
  });
  const run = await loginsThroughShutdown(t, jit, { workers: 12, warmUp: 100, inFlightAtSignal: 8 });
  const ok = checkAnswers(t, run, jit);

  const backends = await openBackends(loadConfig({ JIT_DATA_DIR: dataDir, JIT_LOG_LEVEL: 'silent' }));
  t.teardown(() => backends.close());
  const events = await backends.store.readAll();
  const stored = new Set(events.map((e) => e.metadata.loginId));
  t.same([...ok].filter((id) => !stored.has(id)), [], 'every login answered 200 is in the store');
  t.equal(await backends.checkpoints.get(RELAY_CHECKPOINT), await backends.store.headPosition(), 'the relay checkpoint reached the head');
  const report = checkTopicAgainstStore(await readTopicRecords(testKafka(), topicNames(prefix).users), events);
  t.same(report.missing, [], `every user event of the store is on jit.users.v1: ${describeTopicReport(report)}`);
  t.same(report.violations, [], 'in order');
});

t.test('--services relay: health, readiness and metrics, but no admin API, login intake or SSO', async (t) => {
  await assertKafkaReachable();
  const { dataDir } = dataDirWithIdp(t);
  const group = processGroup(t, 'relay-only');
  const relay = await group.start({
    name: 'relay',
    services: ['relay'],
    env: { JIT_DATA_DIR: dataDir, JIT_ADMIN_TOKENS: ADMIN_TOKEN, JIT_GATEWAY_TOKENS: GATEWAY_TOKEN, JIT_KAFKA_BROKERS: KAFKA_BROKERS, JIT_KAFKA_TOPIC_PREFIX: uniquePrefix('relayonly') },
  });
  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${relay.url()}${path}`, { headers });
  t.equal((await get('/healthz')).status, 200);
  const ready = await get('/readyz');
  t.equal(ready.status, 200);
  t.same(((await ready.json()) as { checks: unknown }).checks, { 'event-store': { ok: true }, kafka: { ok: true } }, 'no projection check: this process runs none');
  const metrics = await get('/metrics');
  t.equal(metrics.status, 200);
  t.match(await metrics.text(), /^jit_relay_lag_events \d+$/m);
  const adminHeaders = { authorization: `Bearer ${ADMIN_TOKEN}` };
  for (const path of ['/rest/authconfig/1.0/jit-users', '/rest/authconfig/latest/idps', '/sso/okta/login']) {
    t.equal((await get(path, adminHeaders)).status, 404, `GET ${path}: 404`);
  }
  const login = await fetch(`${relay.url()}/rest/jit/1.0/logins`, {
    method: 'POST',
    headers: { authorization: `Bearer ${GATEWAY_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(samlLogin('nobody')),
  });
  t.equal(login.status, 404, 'POST /rest/jit/1.0/logins: 404');
  t.equal(await relay.stop(), 0, 'and it stops cleanly');
});
