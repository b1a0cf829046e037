/**
 * Configuration from the environment (DESIGN §3), validated at start. Every problem is collected
 * and reported on its own line; nothing starts with a half-valid configuration.
 */
import type { EnvironmentConfiguration } from '../../schemas/types.gen.js';
import { describeErrors, validatorFor } from '../../schemas/registry.js';
import { ConfigError } from './errors.js';

export const SERVICE_NAMES = ['gateway', 'api', 'provisioning', 'relay', 'projections'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export type Config = Readonly<{
  databaseUrl: string | undefined;
  dataDir: string;
  kafkaBrokers: readonly string[] | undefined;
  kafkaTopicPrefix: string;
  host: string;
  port: number;
  publicUrl: string;
  adminTokens: readonly string[];
  gatewayTokens: readonly string[];
  idpsFile: string | undefined;
  sessionSecret: string | undefined;
  logLevel: (typeof LOG_LEVELS)[number];
  returnToAllowlist: readonly string[];
  adminGroups: readonly string[];
  services: ReadonlySet<ServiceName>;
  projectionMaxLag: number;
  /** Days the last login's attributes are kept per identity (impact analysis); 0 keeps none. */
  loginAttributesDays: number;
  /** Bearer token GET /metrics requires; undefined leaves it public. */
  metricsToken: string | undefined;
}>;

const KNOWN = new Set(Object.keys((validatorFor('config.schema.json').schema as { properties: object }).properties));
const MIN_TOKEN_LENGTH = 16;

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v.length > 0);
}

function tokens(name: string, value: string | undefined, problems: string[]): string[] {
  const all = list(value);
  all.forEach((token, i) => {
    if (token.length < MIN_TOKEN_LENGTH) problems.push(`${name}: token #${i + 1} is ${token.length} characters; expected at least ${MIN_TOKEN_LENGTH}`);
  });
  return all;
}

/** Reads and checks JIT_* variables; throws ConfigError listing every problem. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: string[] = [];
  const raw: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (!key.startsWith('JIT_') || value === undefined) continue;
    // Variables the deploy scripts and tests use are not service configuration.
    if (KNOWN.has(key)) raw[key] = value;
  }
  const validate = validatorFor<EnvironmentConfiguration>('config.schema.json');
  const fields = Object.keys(raw);
  for (const field of fields) {
    const single = { [field]: raw[field] };
    if (!validate(single)) {
      const detail = describeErrors(validate.errors, field).map((line) => line.replace(`${field}.${field}`, field));
      problems.push(`${field}=${JSON.stringify(raw[field])}: ${detail.join('; ')}`);
    }
  }
  const port = Number(raw['JIT_PORT'] ?? '8080');
  if (/^[0-9]{1,5}$/.test(raw['JIT_PORT'] ?? '8080') && port > 65535) problems.push(`JIT_PORT=${JSON.stringify(raw['JIT_PORT'])}: expected a port number 0-65535`);
  const host = raw['JIT_HOST'] ?? '127.0.0.1';
  const publicUrl = (raw['JIT_PUBLIC_URL'] ?? `http://${host.includes(':') ? `[${host}]` : host}:${port}`).replace(/\/+$/, '');
  const services = list(raw['JIT_SERVICES']);
  for (const service of services) {
    if (!(SERVICE_NAMES as readonly string[]).includes(service)) problems.push(`JIT_SERVICES: unknown service '${service}'; expected some of ${SERVICE_NAMES.join(', ')}`);
  }
  const returnToAllowlist = list(raw['JIT_RETURN_TO_ALLOWLIST']);
  for (const origin of returnToAllowlist) {
    let ok = false;
    try {
      const url = new URL(origin);
      ok = url.origin === origin.replace(/\/$/, '') && (url.protocol === 'https:' || url.protocol === 'http:');
    } catch {
      ok = false;
    }
    if (!ok) problems.push(`JIT_RETURN_TO_ALLOWLIST: '${origin}' is not an origin (scheme://host[:port])`);
  }
  const adminTokens = tokens('JIT_ADMIN_TOKENS', raw['JIT_ADMIN_TOKENS'], problems);
  const gatewayTokens = tokens('JIT_GATEWAY_TOKENS', raw['JIT_GATEWAY_TOKENS'], problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({
    databaseUrl: raw['JIT_DATABASE_URL'],
    dataDir: raw['JIT_DATA_DIR'] ?? './data',
    kafkaBrokers: raw['JIT_KAFKA_BROKERS'] ? list(raw['JIT_KAFKA_BROKERS']) : undefined,
    kafkaTopicPrefix: raw['JIT_KAFKA_TOPIC_PREFIX'] ?? '',
    host,
    port,
    publicUrl,
    adminTokens,
    gatewayTokens,
    idpsFile: raw['JIT_IDPS_FILE'],
    sessionSecret: raw['JIT_SESSION_SECRET'],
    logLevel: (raw['JIT_LOG_LEVEL'] ?? 'info') as Config['logLevel'],
    returnToAllowlist: returnToAllowlist.map((o) => new URL(o).origin),
    adminGroups: list(raw['JIT_ADMIN_GROUPS']),
    services: new Set((services.length > 0 ? services : SERVICE_NAMES) as ServiceName[]),
    projectionMaxLag: Number(raw['JIT_PROJECTION_MAX_LAG'] ?? '10000'),
    loginAttributesDays: Number(raw['JIT_LOGIN_ATTRIBUTES_DAYS'] ?? '90'),
    metricsToken: raw['JIT_METRICS_TOKEN'],
  });
}
