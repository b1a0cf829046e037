/**
 * A Kafka broker of the test's own, for tests that stop and start the broker: other test files use
 * the shared broker on 9092 in parallel, so that one is never restarted. deploy/kafka/kafka.sh runs
 * it as a named instance (JIT_KAFKA_INSTANCE): own data, logs and ports, the jars shared. It is
 * stopped and purged when the test ends, failed or not, and when the test process exits.
 */
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './processes.js';

const KAFKA_SH = join(REPO_ROOT, 'deploy/kafka/kafka.sh');

export type DedicatedBroker = Readonly<{
  brokers: string;
  instance: string;
  /** Stops the broker (controlled shutdown), keeping its data. */
  stop(): Promise<void>;
  /** Starts it again and returns once it answers (coordinators warmed). */
  start(): Promise<void>;
  /** The broker's own log tail, for failure messages. */
  logs(): Promise<string>;
}>;

type TapLike = { teardown(fn: () => unknown): void };

function script(command: readonly string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [KAFKA_SH, ...command], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`kafka.sh ${command.join(' ')} (${String(env['JIT_KAFKA_INSTANCE'])}) failed with ${String(code)}:\n${output}`));
    });
  });
}

export async function startDedicatedBroker(t: TapLike, options: { instance: string; port: number }): Promise<DedicatedBroker> {
  const env = {
    JIT_KAFKA_INSTANCE: options.instance,
    JIT_KAFKA_PORT: String(options.port),
    JIT_KAFKA_CONTROLLER_PORT: String(options.port + 1),
    JIT_KAFKA_READY_TIMEOUT: '180',
  };
  let purged = false;
  const purge = async () => {
    if (purged) return;
    await script(['down', '--purge'], env, 120_000);
    purged = true;
  };
  // Fallback for a test process that ends without running its teardown.
  const onExit = () => {
    if (!purged) spawnSync('bash', [KAFKA_SH, 'down', '--purge'], { env: { ...process.env, ...env }, stdio: 'ignore', timeout: 60_000 });
  };
  process.once('exit', onExit);
  // A teardown that rejects would skip the ones registered before it: report, never throw.
  t.teardown(async () => {
    await purge().catch((error: unknown) => console.error(String(error)));
    if (purged) process.off('exit', onExit);
  });
  // Leftovers of an earlier run that did not get to clean up.
  await script(['down', '--purge'], env, 120_000);
  await script(['up'], env, 240_000);
  return {
    brokers: `127.0.0.1:${options.port}`,
    instance: options.instance,
    stop: async () => void (await script(['down'], env, 120_000)),
    start: async () => void (await script(['up'], env, 240_000)),
    logs: () => script(['logs'], env, 30_000).catch((error: unknown) => String(error)),
  };
}
