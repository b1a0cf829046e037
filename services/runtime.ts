/**
 * Composition root: builds the event store, read model, IdP registry and projector that the
 * configuration asks for, and closes them in reverse order.
 */
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { IdpInput } from '../schemas/types.gen.js';
import { describeErrors, validatorFor } from '../schemas/registry.js';
import type { Config } from './shared/config.js';
import { ConfigError, ServiceError } from './shared/errors.js';
import type { EventStore } from './shared/eventStore/eventStore.js';
import { getSqliteEventStore } from './shared/eventStore/sqliteEventStore.js';
import { newId } from './shared/ids.js';
import { openSqliteDatabase, type SqliteDatabase } from './shared/sqlite/database.js';
import { applyIdp } from './provisioning/idps/idpCommands.js';
import { startIdpRegistry, type IdpRegistry } from './provisioning/idps/idpRegistry.js';
import { startStoreProjector, type Projector } from './projections/projector.js';
import type { ReadModel } from './projections/readModel.js';
import { getSqliteReadModel } from './projections/sqliteReadModel.js';
import { replaySqliteReadModel } from './projections/replay.js';
import type { OneTimeTokens } from './shared/oneTimeTokens/oneTimeTokens.js';
import { getSqliteOneTimeTokens } from './shared/oneTimeTokens/sqliteOneTimeTokens.js';
import { loadOrCreateSecret } from './shared/secretFiles.js';

export type Runtime = Readonly<{
  config: Config;
  logger: Logger;
  store: EventStore;
  readModel: ReadModel;
  oneTimeTokens: OneTimeTokens;
  /** Key for signed session cookies: JIT_SESSION_SECRET, or generated once per data dir. */
  sessionSecret: string;
  registry: IdpRegistry;
  projector: Projector | undefined;
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

/** The stores the configuration selects, without any background work (used by the CLI too). */
export type Backends = Readonly<{
  store: EventStore;
  readModel: ReadModel;
  oneTimeTokens: OneTimeTokens;
  /** Rebuilds the read model in fresh tables and swaps them in (jit replay). */
  replay(onProgress: (done: number, total: number) => void): Promise<{ events: number }>;
  close(): Promise<void>;
}>;

export async function openBackends(config: Config, overrides: RuntimeOverrides = {}): Promise<Backends> {
  if (config.databaseUrl) throw new ConfigError(['JIT_DATABASE_URL: the PostgreSQL backend is not available in this build']);
  const db: SqliteDatabase = openSqliteDatabase({ dataDir: config.dataDir });
  const store = getSqliteEventStore(db, overrides.now ? { now: overrides.now } : {});
  return {
    store,
    readModel: getSqliteReadModel(db),
    oneTimeTokens: getSqliteOneTimeTokens(db, overrides.now),
    replay: (onProgress) => replaySqliteReadModel(db, store, onProgress),
    async close() {
      await store.close();
      db.close();
    },
  };
}

export async function startRuntime(config: Config, logger: Logger, overrides: RuntimeOverrides = {}): Promise<Runtime> {
  const closers: (() => Promise<void> | void)[] = [];
  const close = async () => {
    for (const closer of closers.reverse()) await closer();
  };
  try {
    const { store, readModel, oneTimeTokens, close: closeBackends } = await openBackends(config, overrides);
    closers.push(closeBackends);
    const onError = (scope: string) => (error: unknown) => logger.error({ err: error }, `${scope} failed; retrying`);
    const registry = await startIdpRegistry(store, { onError: onError('IdP registry') });
    closers.push(() => registry.stop());
    const projector = config.services.has('projections') ? await startStoreProjector({ store, readModel, onError: onError('projection') }) : undefined;
    if (projector) closers.push(() => projector.stop());
    const sessionSecret = config.sessionSecret ?? loadOrCreateSecret(config.dataDir, 'session-secret').value;
    const runtime: Runtime = { config, logger, store, readModel, oneTimeTokens, sessionSecret, registry, projector, now: overrides.now ?? (() => new Date()), newId: overrides.newId ?? newId, close };
    if (config.idpsFile) await applyIdpsFile(runtime, config.idpsFile);
    return runtime;
  } catch (error) {
    await close();
    throw error;
  }
}

/** Applies JIT_IDPS_FILE as events; an IdP already in that state writes nothing. */
async function applyIdpsFile(runtime: Runtime, file: string): Promise<void> {
  const { store, registry, logger } = runtime;
  for (const idp of await readIdpsFile(file)) {
    const result = await applyIdp({ store, registry, newId: runtime.newId }, idp, { actor: 'system:idps-file', correlationId: runtime.newId() }).catch(
      (error: unknown) => {
        if (!ServiceError.isInstance(error)) throw error;
        const lines = error.problems?.map((p) => `${p.field ?? 'idp'}: ${p.message}`) ?? [error.message];
        throw new ConfigError(lines.map((line) => `JIT_IDPS_FILE ${idp.id}: ${line}`));
      },
    );
    logger.info({ idp: idp.id, result }, 'applied IdP from JIT_IDPS_FILE');
  }
}
