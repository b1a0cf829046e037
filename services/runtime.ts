/**
 * Composition root: builds the event store, read model, IdP registry and projector that the
 * configuration asks for, and closes them in reverse order.
 */
import type { RawRecordedEvent } from '../events/envelope.js';
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { IdpInput, LoginSucceeded } from '../schemas/types.gen.js';
import { describeErrors, validatorFor } from '../schemas/registry.js';
import type { Config } from './shared/config.js';
import { ConfigError, ServiceError } from './shared/errors.js';
import type { EventStore } from './shared/eventStore/eventStore.js';
import { newId } from './shared/ids.js';
import { applyIdp, checkApplyIdp } from './provisioning/idps/idpCommands.js';
import { startIdpRegistry, type IdpRegistry } from './provisioning/idps/idpRegistry.js';
import { startStoreProjector, type Projector } from './projections/projector.js';
import { openBackends, type Backends } from './backends.js';
import { startKafkaServices, type KafkaServices } from './kafkaServices.js';
import type { ReadModel } from './projections/readModel.js';
import type { OneTimeTokens } from './shared/oneTimeTokens/oneTimeTokens.js';
import { createMetrics, observeDelays, registerScrapeGauges, type JitMetrics } from './shared/metrics/metrics.js';
import { lagProbes, type LagProbes } from './shared/metrics/lag.js';
import { timedEventStore } from './shared/metrics/timedEventStore.js';
import { loginTelemetry, type LoginObserver } from './provisioning/login/loginTelemetry.js';
import { LOGIN_CONSUMER } from './provisioning/ingest/loginConsumer.js';
import { PROJECTION_CONSUMER } from './projections/kafkaProjector.js';
import { RELAY_CHECKPOINT } from './relay/relay.js';

export type Runtime = Readonly<{
  config: Config;
  logger: Logger;
  store: EventStore;
  readModel: ReadModel;
  oneTimeTokens: OneTimeTokens;
  /** Key for signed session cookies: JIT_SESSION_SECRET, or generated once per data dir. */
  sessionSecret: string;
  registry: IdpRegistry;
  /** The in-process projector (no Kafka); with Kafka the read model is fed by kafka.projector. */
  projector: Projector | undefined;
  kafka: KafkaServices | undefined;
  backends: Backends;
  /** This runtime's Prometheus registry and instruments (GET /metrics). */
  metrics: JitMetrics;
  /** Relay and projection lag, read on demand (metrics, /readyz). */
  probes: LagProbes;
  /** Counts and logs every login provisionOnLogin handles (spread into its deps with the runtime). */
  observeLogin: LoginObserver;
  /** Keeps a login's attributes for impact analysis for JIT_LOGIN_ATTRIBUTES_DAYS. */
  recordLogin: (userId: string, login: LoginSucceeded) => Promise<void>;
  now: () => Date;
  newId: () => string;
  close(): Promise<void>;
}>;

export type RuntimeOverrides = Partial<Pick<Runtime, 'now' | 'newId'>>;

/** Reads JIT_IDPS_FILE: a JSON array of POST /idps bodies, each with its id. */
export async function readIdpsFile(file: string): Promise<(IdpInput & { id: string })[]> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new ConfigError([`JIT_IDPS_FILE=${file}: ${error instanceof Error ? error.message : String(error)}`]);
  }
  if (!Array.isArray(parsed)) throw new ConfigError([`JIT_IDPS_FILE=${file}: expected a JSON array of IdP objects`]);
  const validate = validatorFor<IdpInput>('idp.schema.json#/$defs/IdpInput');
  const problems: string[] = [];
  const seen = new Set<string>();
  parsed.forEach((entry: unknown, i) => {
    if (!validate(entry)) problems.push(...describeErrors(validate.errors, `JIT_IDPS_FILE[${i}]`));
    else if (entry.id === undefined) problems.push(`JIT_IDPS_FILE[${i}] needs an id`);
    else if (seen.has(entry.id)) problems.push(`JIT_IDPS_FILE[${i}]: id ${entry.id} appears twice`);
    else seen.add(entry.id);
  });
  if (problems.length > 0) throw new ConfigError(problems);
  return parsed as (IdpInput & { id: string })[];
}

export { openBackends, type Backends } from './backends.js';

export async function startRuntime(config: Config, logger: Logger, overrides: RuntimeOverrides = {}): Promise<Runtime> {
  const closers: (() => Promise<void> | void)[] = [];
  const close = async () => {
    for (const closer of closers.reverse()) await closer();
  };
  try {
    const backends = await openBackends(config, overrides.now ? { now: overrides.now } : {});
    const { readModel, oneTimeTokens } = backends;
    closers.push(() => backends.close());
    const metrics = createMetrics();
    const store = timedEventStore(backends.store, metrics);
    const onError = (scope: string) => (error: unknown) => logger.error({ err: error }, `${scope} failed; retrying`);
    const registry = await startIdpRegistry(store, { onError: onError('IdP registry') });
    closers.push(() => registry.stop());
    const onProjected = (events: readonly RawRecordedEvent[]) => observeDelays(metrics.projectionDelay, events);
    const onPublished = (events: readonly RawRecordedEvent[]) => observeDelays(metrics.publishDelay, events);
    const projector = config.services.has('projections') && !config.kafkaBrokers ? await startStoreProjector({ store, readModel, onError: onError('projection'), onApplied: onProjected }) : undefined;
    if (projector) closers.push(() => projector.stop());
    const sessionSecret = config.sessionSecret ?? (await backends.sharedSecret('session-secret'));
    const now = overrides.now ?? (() => new Date());
    const ids = overrides.newId ?? newId;
    const recordLogin = async (userId: string, login: LoginSucceeded) => {
      if (config.loginAttributesDays > 0) await backends.loginSnapshots.save(userId, login, new Date(now().getTime() + config.loginAttributesDays * 86_400_000));
    };
    // With retention 0 nothing is kept, including what an earlier configuration kept.
    const purge = () => void backends.loginSnapshots.purgeExpired(config.loginAttributesDays > 0 ? now() : new Date(8.64e15)).catch((error: unknown) => logger.warn({ err: error }, 'purging login attributes failed'));
    purge();
    const purgeTimer = setInterval(purge, 3_600_000).unref();
    closers.push(() => clearInterval(purgeTimer));
    const observeLogin = loginTelemetry({ metrics, logger, knownIdp: (idpId) => registry.get(idpId) !== undefined });
    const kafka = config.kafkaBrokers ? await startKafkaServices(config, { ...backends, store }, { logger, registry, now, newId: ids, recordLogin, observeLogin, onPublished, onProjected }) : undefined;
    if (kafka) closers.push(() => kafka.close());
    const probes = lagProbes({
      store,
      checkpoints: backends.checkpoints,
      relayCheckpoint: RELAY_CHECKPOINT,
      projector,
      kafka: kafka && { admin: kafka.admin, projectionsGroup: kafka.projectionsGroup, usersTopic: kafka.topics.users },
    });
    registerScrapeGauges(metrics, {
      relayLag: probes.relay,
      projectionLag: probes.projection,
      parked: async () => ({ [PROJECTION_CONSUMER]: await backends.parking.count(PROJECTION_CONSUMER), [LOGIN_CONSUMER]: await backends.parking.count(LOGIN_CONSUMER) }),
      onError: (probe, error) => logger.warn({ err: error }, `metrics: reading the ${probe} failed`),
    });
    const runtime: Runtime = { config, logger, store, readModel, oneTimeTokens, sessionSecret, registry, projector, kafka, backends, metrics, probes, observeLogin, recordLogin, now, newId: ids, close };
    if (config.idpsFile) await applyIdpsFile(runtime, config.idpsFile);
    return runtime;
  } catch (error) {
    await close();
    throw error;
  }
}

/** The problems of one IdP of JIT_IDPS_FILE, as ConfigError lines. */
function idpProblems(id: string, error: unknown): string[] {
  if (!ServiceError.isInstance(error)) throw error;
  const lines = error.problems?.map((p) => `${p.field ?? 'idp'}: ${p.message}`) ?? [error.message];
  return lines.map((line) => `JIT_IDPS_FILE ${id}: ${line}`);
}

/**
 * Applies JIT_IDPS_FILE as events; an IdP already in that state writes nothing. All or nothing:
 * every entry is checked before the first is written, so a bad file never half-applies.
 */
async function applyIdpsFile(runtime: Runtime, file: string): Promise<void> {
  const { store, registry, logger } = runtime;
  const idps = await readIdpsFile(file);
  const problems = idps.flatMap((idp) => {
    try {
      checkApplyIdp(registry, idp);
      return [];
    } catch (error) {
      return idpProblems(idp.id, error);
    }
  });
  if (problems.length > 0) throw new ConfigError(problems);
  for (const idp of idps) {
    const result = await applyIdp({ store, registry, newId: runtime.newId }, idp, { actor: 'system:idps-file', correlationId: runtime.newId() }).catch(
      (error: unknown) => {
        throw new ConfigError(idpProblems(idp.id, error));
      },
    );
    logger.info({ idp: idp.id, result }, 'applied IdP from JIT_IDPS_FILE');
  }
}
