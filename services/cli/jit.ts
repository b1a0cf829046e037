/**
 * The `jit` program: `jit serve` runs the services, `jit replay` rebuilds the read model,
 * `jit audit <username>` prints a user's history.
 */
import { parseArgs } from 'node:util';
import { SingleBar } from 'cli-progress';
import pino from 'pino';
import { userStreamId } from '../../events/catalogue.js';
import { buildApp } from '../api/app.js';
import { loadConfig, type Config } from '../shared/config.js';
import { ConfigError } from '../shared/errors.js';
import { loggerOptions } from '../shared/logger.js';
import { openBackends, startRuntime } from '../runtime.js';
import { auditLine } from './audit.js';
import { republish } from '../relay/republish.js';
import { createKafka, ensureTopics, topicNames } from '../shared/kafka/kafkaClient.js';
import { loadOrCreateSecret } from '../shared/secretFiles.js';
import { installGracefulShutdown } from './shutdown.js';

const USAGE = `usage:
  jit serve [--services gateway,api,provisioning,relay,projections]
  jit replay                 rebuild the read model from the event store
  jit audit <username> [--json]
  jit republish [--from <position>]   re-emit the store's log to jit.users.v1 (needs JIT_KAFKA_BROKERS)
Configuration comes from JIT_* environment variables (see README).`;

async function serve(config: Config): Promise<void> {
  const logger = pino(loggerOptions(config.logLevel));
  const extraAdminTokens: string[] = [];
  if (config.adminTokens.length === 0 && !config.databaseUrl) {
    const token = loadOrCreateSecret(config.dataDir, 'admin-token');
    extraAdminTokens.push(token.value);
    if (token.created) {
      process.stderr.write(`\nGenerated an admin token (kept in ${config.dataDir}/admin-token; shown once):\n\n  ${token.value}\n\n`);
    }
  }
  const runtime = await startRuntime(config, logger);
  const app = await buildApp(runtime, { extraAdminTokens });
  installGracefulShutdown({ app, runtime, logger });
  await app.listen({ host: config.host, port: config.port });
  logger.info({ url: config.publicUrl, services: [...config.services] }, 'JIT provisioning service ready');
}

async function replay(config: Config): Promise<void> {
  const backends = await openBackends(config);
  try {
    const bar = new SingleBar({ format: 'replay [{bar}] {percentage}% | {value}/{total} events | {eta_formatted} left', hideCursor: true, stream: process.stderr });
    bar.start(Math.max(1, await backends.store.headPosition()), 0);
    const started = Date.now();
    const { events } = await backends.replay((done, total) => {
      bar.setTotal(Math.max(1, total));
      bar.update(done);
    });
    bar.stop();
    const seconds = (Date.now() - started) / 1000;
    process.stdout.write(`replayed ${events} events in ${seconds.toFixed(1)} s; the new read model is live\n`);
  } finally {
    await backends.close();
  }
}

async function audit(config: Config, username: string, json: boolean): Promise<number> {
  const backends = await openBackends(config);
  try {
    const user = await backends.readModel.findUser(username);
    if (!user) {
      process.stderr.write(`jit audit: no JIT user named ${username}\n`);
      return 1;
    }
    const events = await backends.store.readStream(userStreamId(user.userId));
    for (const event of events) process.stdout.write(`${json ? JSON.stringify(event) : auditLine(event)}\n`);
    return 0;
  } finally {
    await backends.close();
  }
}

async function republishCommand(config: Config, from: number): Promise<number> {
  if (!config.kafkaBrokers) {
    process.stderr.write('jit republish: JIT_KAFKA_BROKERS is not set\n');
    return 2;
  }
  const backends = await openBackends(config);
  // Progress and the result go to stdout; the Kafka client's warnings go to stderr.
  const kafka = createKafka(config.kafkaBrokers, pino({ level: 'warn' }, pino.destination(2)));
  const admin = kafka.admin();
  try {
    await admin.connect();
    const topics = topicNames(config.kafkaTopicPrefix);
    await ensureTopics(admin, topics);
    const bar = new SingleBar({ format: 'republish [{bar}] {value}/{total} positions', stream: process.stderr });
    bar.start(1, 0);
    const result = await republish({ kafka, topics, store: backends.store }, {
      from,
      onProgress: (done, head) => {
        bar.setTotal(Math.max(1, head));
        bar.update(done);
      },
    });
    bar.stop();
    process.stdout.write(`republished ${result.published} user events (positions ${from}..${result.upTo}) to ${topics.users}\n`);
    return 0;
  } finally {
    await admin.disconnect();
    await backends.close();
  }
}

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      services: { type: 'string' },
      json: { type: 'boolean', default: false },
      from: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    process.stdout.write(`${USAGE}\n`);
    return command || values.help ? 0 : 2;
  }
  let config: Config;
  try {
    config = loadConfig(values.services ? { ...env, JIT_SERVICES: values.services } : env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`jit: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  switch (command) {
    case 'serve':
      await serve(config);
      return -1;
    case 'replay':
      await replay(config);
      return 0;
    case 'audit':
      if (rest.length !== 1) {
        process.stderr.write(`${USAGE}\n`);
        return 2;
      }
      return audit(config, rest[0]!, values.json);
    case 'republish': {
      const from = values.from === undefined ? 1 : Number(values.from);
      if (!Number.isSafeInteger(from) || from < 1) {
        process.stderr.write(`jit republish: --from must be a position (a whole number from 1)\n`);
        return 2;
      }
      return republishCommand(config, from);
    }
    default:
      process.stderr.write(`jit: unknown command '${command}'\n${USAGE}\n`);
      return 2;
  }
}
