/**
 * The Helm chart (deploy/helm/jit-provisioning), rendered by the real Helm binary and checked:
 * every object against the Kubernetes 1.32 API models (unknown/missing/mistyped fields), then the
 * deployment rules (four Deployments with their --services, probes, non-root, read-only root,
 * env complete and accepted by loadConfig, no secret in a ConfigMap, selectors that match).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { SHUTDOWN_TIMEOUT_MS } from '../../services/cli/shutdown.js';
import { KAFKA_PROBE_TIMEOUT_MS } from '../../services/shared/metrics/lag.js';
import { loadConfig, type ServiceName } from '../../services/shared/config.js';
import { CHART_DIR, REPO_ROOT, helm, helmTemplate, parseYamlFile, validateK8sObjects, type K8sObject, type K8sValidation } from '../support/deployTools.js';
import { admin, startTestApp } from '../support/testRuntime.js';

const NAMESPACE = 'identity';
const SECRET_KEYS = ['JIT_DATABASE_URL', 'JIT_ADMIN_TOKENS', 'JIT_GATEWAY_TOKENS', 'JIT_SESSION_SECRET', 'JIT_METRICS_TOKEN'];
const API_VERSIONS: Record<string, string> = {
  Deployment: 'apps/v1',
  Service: 'v1',
  ConfigMap: 'v1',
  Secret: 'v1',
  ServiceAccount: 'v1',
  Ingress: 'networking.k8s.io/v1',
  PodDisruptionBudget: 'policy/v1',
  Job: 'batch/v1',
  CronJob: 'batch/v1',
};
const COMPONENTS: Record<string, ServiceName[]> = {
  web: ['gateway', 'api'],
  provisioning: ['provisioning'],
  relay: ['relay'],
  projections: ['projections'],
};

const MINIMAL = ['--set', 'config.kafkaBrokers=kafka:9092', '--set', 'secrets.databaseUrl=postgres://jit:pw@postgres.db.svc:5432/jit'];
const ADMIN_TOKEN_VALUE = 'admin-token-0123456789abcdef';
const EVERYTHING = [
  ...MINIMAL,
  '--set-json', `secrets.adminTokens=["${ADMIN_TOKEN_VALUE}","second-admin-token-0123456789"]`,
  '--set-json', 'secrets.gatewayTokens=["gateway-token-0123456789abcdef"]',
  '--set', 'secrets.sessionSecret=session-secret-0123456789abcdef0123456789',
  '--set', 'secrets.metricsToken=metrics-token-0123456789abcdef',
  '--set-json', 'config.adminGroups=["jit-admins","ops"]',
  '--set-json', 'config.returnToAllowlist=["https://jira.example.com"]',
  '--set-json', 'config.extraEnv={"JIT_LOG_LEVEL":"warn"}',
  '--set', 'config.projectionMaxLag=2000000',
  '--set', 'web.ingress.enabled=true',
  '--set-json', 'web.ingress.tls=[{"secretName":"jit-tls","hosts":["jit.example.com"]}]',
  '--set-json', 'idps.items=[{"id":"okta","name":"Okta","sso-type":"SAML","sso-url":"https://example.okta.com/sso","sso-issuer":"http://www.okta.com/abc","certificate":"MIIB"}]',
  '--set', 'replayJob.enabled=true',
  '--set', 'inactivityCronJob.enabled=true',
  '--set-json', 'inactivityCronJob.body={"idp":"okta"}',
];
const PRODUCTION = ['-f', join(REPO_ROOT, 'deploy/helm/examples/values-production.yaml'), '--set', 'replayJob.enabled=true'];
/** What the production example's existing Secret is documented to hold. */
const PRODUCTION_SECRET: Record<string, string> = {
  JIT_DATABASE_URL: 'postgres://jit:secret@pg.example.com:5432/jit?sslmode=require',
  JIT_ADMIN_TOKENS: 'prod-admin-token-0123456789abcdef',
  JIT_GATEWAY_TOKENS: 'prod-gateway-token-0123456789abcdef',
  JIT_SESSION_SECRET: 'prod-session-secret-0123456789abcdef0123456789',
};

type Container = {
  name: string;
  image?: string;
  args?: string[];
  command?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string }; configMapKeyRef?: { name: string; key: string } } }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  readinessProbe?: { httpGet?: { path: string; port: string | number }; timeoutSeconds?: number };
  startupProbe?: { httpGet?: { path: string; port: string | number } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean; capabilities?: { drop?: string[] } };
  volumeMounts?: { name: string; mountPath: string }[];
  lifecycle?: { preStop?: { exec?: { command?: string[] } } };
};
type PodSpec = {
  terminationGracePeriodSeconds?: number;
  containers: Container[];
  volumes?: { name: string; emptyDir?: object; configMap?: { name: string; items?: { key: string; path: string }[] }; secret?: { secretName: string; items?: { key: string; path: string }[] } }[];
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  restartPolicy?: string;
};
type PodTemplate = { metadata: { labels: Record<string, string>; annotations?: Record<string, string> }; spec: PodSpec };

const byKind = (objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind);
const named = (objects: K8sObject[], kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);
const spec = <T>(o: K8sObject) => o['spec'] as T;
const matches = (selector: Record<string, string>, labels: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);

/** Every pod template of the rendering, with the object that owns it. */
function podTemplates(objects: K8sObject[]): { owner: K8sObject; template: PodTemplate }[] {
  return objects.flatMap((o) => {
    if (o.kind === 'Deployment' || o.kind === 'Job') return [{ owner: o, template: spec<{ template: PodTemplate }>(o).template }];
    if (o.kind === 'CronJob') return [{ owner: o, template: spec<{ jobTemplate: { spec: { template: PodTemplate } } }>(o).jobTemplate.spec.template }];
    return [];
  });
}

/** The environment a container gets: envFrom ConfigMaps/Secrets (rendered or given), then env. */
function containerEnv(objects: K8sObject[], container: Container, externalSecrets: Record<string, Record<string, string>>): Record<string, string> {
  const secretData = (name: string): Record<string, string> | undefined => {
    const secret = named(objects, 'Secret', name);
    if (secret) {
      const data = Object.fromEntries(Object.entries((secret['data'] ?? {}) as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
      return { ...data, ...((secret['stringData'] ?? {}) as Record<string, string>) };
    }
    return externalSecrets[name];
  };
  const configMapData = (name: string) => named(objects, 'ConfigMap', name)?.['data'] as Record<string, string> | undefined;
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    if (source.configMapRef) Object.assign(env, configMapData(source.configMapRef.name) ?? fail(`envFrom names ConfigMap ${source.configMapRef.name}, which is not rendered`));
    if (source.secretRef) Object.assign(env, secretData(source.secretRef.name) ?? fail(`envFrom names Secret ${source.secretRef.name}, which is neither rendered nor given`));
  }
  for (const variable of container.env ?? []) {
    if (variable.value !== undefined) env[variable.name] = variable.value;
    const ref = variable.valueFrom?.secretKeyRef;
    if (ref) env[variable.name] = secretData(ref.name)?.[ref.key] ?? fail(`${variable.name}: Secret ${ref.name} has no key ${ref.key}`);
  }
  return env;
}

function fail(message: string): never {
  throw new Error(message);
}

/** The checks every rendering must pass. */
function checkRendering(t: Test, objects: K8sObject[], options: { release: string; externalSecrets?: Record<string, Record<string, string>>; expect: string[] }) {
  const externalSecrets = options.externalSecrets ?? {};
  t.ok(objects.length > 0, 'something is rendered');

  t.test('every object is a valid Kubernetes 1.32 object', async (t) => {
    for (const o of objects) {
      t.equal(o.apiVersion, API_VERSIONS[o.kind], `${o.kind} ${o.metadata?.name}: apiVersion`);
      t.match(o.metadata.name, /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, `${o.kind} name is a DNS label`);
      t.notOk(o.metadata.namespace && o.metadata.namespace !== NAMESPACE, 'no foreign namespace');
      t.match(o.metadata.labels ?? {}, { 'app.kubernetes.io/name': 'jit-provisioning', 'app.kubernetes.io/instance': options.release, 'app.kubernetes.io/component': String }, `${o.kind} ${o.metadata.name}: labels`);
    }
    for (const o of objects) {
      const result = validation.get(o)!;
      t.equal(result.error, null, `${result.kind} ${result.name} (${result.model}) is valid`);
    }
  });

  t.test('the expected objects, and only those', async (t) => {
    t.same(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort(), [...options.expect].sort());
  });

  const configMap = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.endsWith('-config'))!;
  const cmData = configMap['data'] as Record<string, string>;

  t.test('four Deployments: web (gateway,api), provisioning, relay (one replica), projections', async (t) => {
    const deployments = byKind(objects, 'Deployment');
    t.same(deployments.map((d) => d.metadata.name).sort(), Object.keys(COMPONENTS).map((c) => `${options.release}-jit-provisioning-${c}`).sort());
    for (const deployment of deployments) {
      const component = deployment.metadata.labels!['app.kubernetes.io/component']!;
      const { replicas, selector, template } = spec<{ replicas: number; selector: { matchLabels: Record<string, string> }; template: PodTemplate }>(deployment);
      t.ok(matches(selector.matchLabels, template.metadata.labels), `${component}: selector matches its pods`);
      for (const other of deployments.filter((d) => d !== deployment)) {
        t.notOk(matches(selector.matchLabels, spec<{ template: PodTemplate }>(other).template.metadata.labels), `${component}'s selector does not take ${other.metadata.name}'s pods`);
      }
      t.equal(template.spec.containers.length, 1, `${component}: one container`);
      const container = template.spec.containers[0]!;
      t.same(container.args, ['serve', '--services', COMPONENTS[component]!.join(',')], `${component}: jit serve --services`);
      if (component === 'relay') t.equal(replicas, 1, 'relay: one replica (leader-locked)');
      else t.ok(replicas >= 1, `${component}: replicas`);
      const http = container.ports?.find((p) => p.name === 'http');
      t.equal(String(http?.containerPort), cmData['JIT_PORT'], `${component}: the http port is JIT_PORT`);
      t.equal(container.livenessProbe?.httpGet?.path, '/healthz', `${component}: liveness on /healthz`);
      t.equal(container.readinessProbe?.httpGet?.path, '/readyz', `${component}: readiness on /readyz`);
      t.equal(container.startupProbe?.httpGet?.path, '/healthz', `${component}: start-up on /healthz`);
      for (const probe of [container.livenessProbe, container.readinessProbe, container.startupProbe]) t.equal(probe?.httpGet?.port, 'http', `${component}: probes on the http port`);
      // /readyz bounds its checks (event store 3 s, Kafka KAFKA_PROBE_TIMEOUT_MS) and answers 503 with the reason.
      t.ok((container.readinessProbe?.timeoutSeconds ?? 1) * 1000 > Math.max(3000, KAFKA_PROBE_TIMEOUT_MS), `${component}: the readiness probe outwaits /readyz's own bounds`);
      t.ok(container.resources?.requests?.['cpu'] && container.resources.requests['memory'] && container.resources.limits?.['memory'], `${component}: resources`);
      t.ok(template.metadata.annotations?.['checksum/config'], `${component}: rolls on configuration changes`);
      const preStop = Number(container.lifecycle?.preStop?.exec?.command?.[1] ?? 0);
      t.ok((template.spec.terminationGracePeriodSeconds ?? 30) * 1000 > preStop * 1000 + SHUTDOWN_TIMEOUT_MS, `${component}: the grace period covers preStop + the service's ${SHUTDOWN_TIMEOUT_MS} ms shutdown`);
      const idpsFile = container.env?.find((e) => e.name === 'JIT_IDPS_FILE')?.value;
      if (idpsFile) {
        t.equal(component, 'web', 'only the web pods apply JIT_IDPS_FILE');
        const mount = container.volumeMounts?.find((m) => idpsFile.startsWith(`${m.mountPath}/`));
        const volume = template.spec.volumes?.find((v) => v.name === mount?.name);
        const items = volume?.configMap?.items ?? volume?.secret?.items;
        t.same(items?.map((i) => i.path), [idpsFile.slice(mount!.mountPath.length + 1)], 'JIT_IDPS_FILE is the mounted file');
        if (volume?.configMap) t.ok(named(objects, 'ConfigMap', volume.configMap.name) || volume.configMap.name.length > 0, 'IdPs ConfigMap');
      }
    }
  });

  t.test('every pod: non-root, read-only root with /tmp, no capabilities, no service account token, an image', async (t) => {
    for (const { owner, template } of podTemplates(objects)) {
      const where = `${owner.kind} ${owner.metadata.name}`;
      t.equal(template.spec.securityContext?.runAsNonRoot, true, `${where}: pod runAsNonRoot`);
      t.ok((template.spec.securityContext?.runAsUser ?? 0) > 0, `${where}: numeric non-root UID`);
      t.equal(template.spec.automountServiceAccountToken, false, `${where}: no API token`);
      const sa = template.spec.serviceAccountName;
      t.ok(sa && named(objects, 'ServiceAccount', sa), `${where}: its ServiceAccount is rendered`);
      if (owner.kind !== 'Deployment') t.equal(template.spec.restartPolicy, 'Never', `${where}: restartPolicy Never`);
      for (const container of template.spec.containers) {
        t.match(container.image, /^[^\s:]+(:[\w][\w.-]{0,127})?$/, `${where}: image`);
        const sc = container.securityContext ?? {};
        t.equal(sc.runAsNonRoot, true, `${where}: container runAsNonRoot`);
        t.equal(sc.readOnlyRootFilesystem, true, `${where}: read-only root filesystem`);
        t.equal(sc.allowPrivilegeEscalation, false, `${where}: no privilege escalation`);
        t.same(sc.capabilities?.drop, ['ALL'], `${where}: drops ALL capabilities`);
        const tmp = container.volumeMounts?.find((m) => m.mountPath === '/tmp');
        t.ok(tmp && template.spec.volumes?.find((v) => v.name === tmp.name)?.emptyDir, `${where}: /tmp is an emptyDir`);
      }
    }
  });

  t.test('every jit process gets a complete configuration that loadConfig accepts', async (t) => {
    for (const { owner, template } of podTemplates(objects)) {
      if (owner.kind === 'CronJob') continue; // not a jit process: it calls the API
      const container = template.spec.containers[0]!;
      const env = containerEnv(objects, container, externalSecrets);
      const services = container.args?.[0] === 'serve' ? container.args[2] : undefined;
      const config = loadConfig(services ? { ...env, JIT_SERVICES: services } : env);
      const where = `${owner.kind} ${owner.metadata.name}`;
      t.match(config.databaseUrl, /^postgres(ql)?:\/\//, `${where}: PostgreSQL event store`);
      t.ok(config.kafkaBrokers && config.kafkaBrokers.length > 0, `${where}: Kafka`);
      t.equal(config.host, '0.0.0.0', `${where}: listens on every interface`);
      t.equal(String(config.port), cmData['JIT_PORT'], `${where}: JIT_PORT`);
      if (services) t.same([...config.services].sort(), services.split(',').sort(), `${where}: services`);
      if (config.idpsFile) t.equal(owner.metadata.name.endsWith('-web'), true, 'JIT_IDPS_FILE only on web');
      if (env['JIT_METRICS_TOKEN']) t.equal(config.metricsToken, env['JIT_METRICS_TOKEN'], `${where}: JIT_METRICS_TOKEN from the Secret`);
    }
  });

  t.test('no secret in a ConfigMap', async (t) => {
    const secretValues = new Set<string>();
    for (const secret of [...byKind(objects, 'Secret').map((s) => (s['stringData'] ?? {}) as Record<string, string>), ...Object.values(externalSecrets)]) {
      for (const value of Object.values(secret)) for (const part of value.split(',')) secretValues.add(part);
    }
    for (const cm of byKind(objects, 'ConfigMap')) {
      const data = (cm['data'] ?? {}) as Record<string, string>;
      for (const key of SECRET_KEYS) t.notOk(key in data, `${cm.metadata.name} has no ${key}`);
      for (const [key, value] of Object.entries(data)) {
        for (const secret of secretValues) t.notOk(value.includes(secret), `${cm.metadata.name}.${key} holds no secret value`);
        t.notMatch(value, /client-secret/, `${cm.metadata.name}.${key}: no OIDC client secret`);
      }
    }
    for (const secret of byKind(objects, 'Secret')) t.ok(Object.keys((secret['stringData'] ?? {}) as object).every((k) => SECRET_KEYS.includes(k)), 'the Secret holds only secret variables');
  });

  t.test('the web Service, Ingress and PodDisruptionBudget select the web pods', async (t) => {
    const deployments = byKind(objects, 'Deployment');
    const webPods = spec<{ template: PodTemplate }>(deployments.find((d) => d.metadata.name.endsWith('-web'))!).template;
    const services = byKind(objects, 'Service');
    t.equal(services.length, 1, 'one Service');
    const service = services[0]!;
    const { selector, ports } = spec<{ selector: Record<string, string>; ports: { port: number; targetPort: string }[] }>(service);
    t.ok(matches(selector, webPods.metadata.labels), 'Service selects the web pods');
    for (const other of deployments.filter((d) => !d.metadata.name.endsWith('-web'))) {
      t.notOk(matches(selector, spec<{ template: PodTemplate }>(other).template.metadata.labels), `Service does not select ${other.metadata.name}`);
    }
    t.ok(ports.every((p) => webPods.spec.containers[0]!.ports?.some((cp) => cp.name === p.targetPort)), 'targetPort names a container port');
    for (const ingress of byKind(objects, 'Ingress')) {
      type Rule = { host: string; http: { paths: { backend: { service: { name: string; port: { number: number } } } }[] } };
      for (const rule of spec<{ rules: Rule[] }>(ingress).rules) {
        for (const path of rule.http.paths) {
          t.equal(path.backend.service.name, service.metadata.name, `Ingress ${rule.host} → the web Service`);
          t.ok(ports.some((p) => p.port === path.backend.service.port.number), 'Ingress → a Service port');
        }
      }
    }
    for (const pdb of byKind(objects, 'PodDisruptionBudget')) {
      const pdbSpec = spec<{ selector: { matchLabels: Record<string, string> }; minAvailable?: number }>(pdb);
      t.ok(matches(pdbSpec.selector.matchLabels, webPods.metadata.labels), 'PDB selects the web pods');
      t.notOk(deployments.filter((d) => !d.metadata.name.endsWith('-web')).some((d) => matches(pdbSpec.selector.matchLabels, spec<{ template: PodTemplate }>(d).template.metadata.labels)), 'PDB selects nothing else');
    }
  });

  t.test('the replay Job and the inactivity CronJob', async (t) => {
    for (const job of byKind(objects, 'Job')) {
      const container = spec<{ template: PodTemplate }>(job).template.spec.containers[0]!;
      t.same(container.args, ['replay'], 'jit replay');
    }
    for (const cron of byKind(objects, 'CronJob')) {
      const cronSpec = spec<{ schedule: string; concurrencyPolicy: string; jobTemplate: { spec: { template: PodTemplate } } }>(cron);
      t.match(cronSpec.schedule, /^\S+ \S+ \S+ \S+ \S+$/, 'a five-field schedule');
      t.equal(cronSpec.concurrencyPolicy, 'Forbid', 'runs never overlap');
      const container = cronSpec.jobTemplate.spec.template.spec.containers[0]!;
      const env = containerEnv(objects, container, externalSecrets);
      const service = byKind(objects, 'Service')[0]!;
      const port = spec<{ ports: { port: number }[] }>(service).ports[0]!.port;
      t.equal(env['INACTIVITY_RUN_URL'], `http://${service.metadata.name}.${NAMESPACE}.svc:${port}/rest/jit/1.0/inactivity/run`, 'posts to the web Service');
      t.ok(env['JIT_ADMIN_TOKENS'], 'has the admin token from the Secret');
    }
  });
}

const release = 'jit';
const component = (kind: string, name: string) => `${kind}/${release}-jit-provisioning${name ? `-${name}` : ''}`;
const BASE = [
  component('ConfigMap', 'config'),
  component('Service', 'web'),
  component('ServiceAccount', ''),
  component('PodDisruptionBudget', 'web'),
  ...Object.keys(COMPONENTS).map((c) => component('Deployment', c)),
];

// Render once; validate every object of every rendering (and the broken copies below) in one JVM.
const renderings = {
  minimal: helmTemplate(release, NAMESPACE, MINIMAL),
  everything: helmTemplate(release, NAMESPACE, EVERYTHING),
  production: helmTemplate(release, NAMESPACE, PRODUCTION),
};
const broken = brokenCopies(renderings.minimal.objects);
const validation = new Map<unknown, K8sValidation>();
{
  const all = [...Object.values(renderings).flatMap((r) => r.objects), ...Object.values(broken)];
  validateK8sObjects(all).forEach((result, i) => validation.set(all[i], result));
}

/** A rendered Deployment, and copies of it each with one mistake the validator must catch. */
function brokenCopies(objects: K8sObject[]) {
  const original = objects.find((o) => o.kind === 'Deployment');
  if (!original) return {};
  const copy = (change: (container: Container & Record<string, unknown>) => void) => {
    const object = structuredClone(original);
    change(spec<{ template: PodTemplate }>(object).template.spec.containers[0]! as Container & Record<string, unknown>);
    return object;
  };
  return {
    original: copy(() => undefined),
    typo: copy((c) => ((c.securityContext as Record<string, unknown>)['runAsNonroot'] = true)),
    badPort: copy((c) => (c.ports![0]!.containerPort = 'http' as unknown as number)),
    noName: copy((c) => delete (c as Record<string, unknown>)['name']),
    badQuantity: copy((c) => (c.resources!.requests!['memory'] = '192 megs')),
  };
}

t.test('default values alone: refused with a clear message (no database, no Kafka)', async (t) => {
  const result = helmTemplate(release, NAMESPACE);
  t.not(result.status, 0);
  t.match(result.stderr, /secrets\.databaseUrl \(postgres:\/\/…\) is required|config\.kafkaBrokers is required/);
  const onlyDb = helmTemplate(release, NAMESPACE, ['--set', 'secrets.databaseUrl=postgres://a:b@c/d']);
  t.match(onlyDb.stderr, /config\.kafkaBrokers is required/);
});

t.test('defaults + the two required values', async (t) => {
  const result = renderings.minimal;
  t.equal(result.status, 0, result.stderr);
  checkRendering(t, result.objects, { release, expect: [...BASE, component('Secret', 'secrets')] });
});

t.test('every option on, secrets inline', async (t) => {
  const result = renderings.everything;
  t.equal(result.status, 0, result.stderr);
  checkRendering(t, result.objects, {
    release,
    expect: [...BASE, component('Secret', 'secrets'), component('ConfigMap', 'idps'), component('Ingress', 'web'), `Job/${release}-jit-provisioning-replay-1`, component('CronJob', 'inactivity')],
  });
  const cm = result.objects.find((o) => o.metadata.name.endsWith('-config'))!['data'] as Record<string, string>;
  t.equal(cm['JIT_PUBLIC_URL'], 'https://jit.example.com', 'JIT_PUBLIC_URL from the TLS Ingress host');
  t.equal(cm['JIT_ADMIN_GROUPS'], 'jit-admins,ops');
  t.equal(cm['JIT_LOG_LEVEL'], 'warn', 'extraEnv wins over config.*');
  t.equal(cm['JIT_PROJECTION_MAX_LAG'], '2000000', 'numbers render as integers, not 2e+06');
  const idps = result.objects.find((o) => o.metadata.name.endsWith('-idps'))!['data'] as Record<string, string>;
  t.same(JSON.parse(idps['idps.json']!).map((i: { id: string }) => i.id), ['okta'], 'the IdPs file is a JSON array');
});

t.test('the production example (existing Secrets, Ingress, CronJob, replay Job)', async (t) => {
  const result = renderings.production;
  t.equal(result.status, 0, result.stderr);
  checkRendering(t, result.objects, {
    release,
    externalSecrets: { 'jit-provisioning-secrets': PRODUCTION_SECRET },
    expect: [...BASE, component('Ingress', 'web'), `Job/${release}-jit-provisioning-replay-1`, component('CronJob', 'inactivity')],
  });
  t.notOk(result.objects.some((o) => o.kind === 'Secret'), 'no Secret rendered: existingSecret');
  const web = result.objects.find((o) => o.kind === 'Deployment' && o.metadata.name.endsWith('-web'))!;
  const volumes = spec<{ template: PodTemplate }>(web).template.spec.volumes!;
  t.equal(volumes.find((v) => v.name === 'idps')?.secret?.secretName, 'jit-provisioning-idps', 'IdPs from the existing Secret');
});

t.test('helm lint --strict', async (t) => {
  for (const [name, args] of Object.entries({ minimal: MINIMAL, everything: EVERYTHING, production: PRODUCTION })) {
    const result = helm(['lint', '--strict', CHART_DIR, ...args]);
    t.equal(result.status, 0, `${name}: ${result.stdout}${result.stderr}`);
  }
});

t.test('the chart refuses unsafe or mistyped values', async (t) => {
  const refused = (args: string[], pattern: RegExp, what: string) => {
    const result = helmTemplate(release, NAMESPACE, [...MINIMAL, ...args]);
    t.not(result.status, 0, what);
    t.match(result.stderr, pattern, what);
  };
  refused(['--set', 'web.replica=3'], /additional properties 'replica' not allowed/, 'a typo in values (values.schema.json)');
  refused(['--set', 'config.kafkaBrokers=kafka'], /kafkaBrokers/, 'brokers without a port');
  refused(['--set', 'secrets.databaseUrl=mysql://x'], /databaseUrl/, 'a non-PostgreSQL database');
  refused(['--set-json', 'secrets.adminTokens=["short"]'], /adminTokens/, 'an admin token under 16 characters');
  refused(['--set', 'config.extraEnv.JIT_ADMIN_TOKENS=abcdefghijklmnopqrstuvwxyz'], /secret values belong in secrets/, 'a secret variable in the ConfigMap');
  refused(['--set-json', 'idps.items=[{"id":"e","name":"E","sso-type":"OIDC","client-secret":"s3cret"}]'], /client-secret: it would land in a ConfigMap/, 'an OIDC client secret in the IdPs ConfigMap');
  refused(['--set', 'inactivityCronJob.enabled=true'], /inactivityCronJob needs an admin token/, 'the CronJob without an admin token');
});

t.test('values.schema.json mirrors the service configuration schema', async (t) => {
  const values = JSON.parse(readFileSync(join(CHART_DIR, 'values.schema.json'), 'utf8')) as { properties: Record<string, { properties: Record<string, { pattern?: string; enum?: string[] }> }> };
  const config = JSON.parse(readFileSync(join(REPO_ROOT, 'schemas/config.schema.json'), 'utf8')) as { properties: Record<string, { pattern?: string; enum?: string[] }> };
  const pairs: [string, string, string][] = [
    ['config', 'kafkaBrokers', 'JIT_KAFKA_BROKERS'],
    ['config', 'kafkaTopicPrefix', 'JIT_KAFKA_TOPIC_PREFIX'],
    ['config', 'publicUrl', 'JIT_PUBLIC_URL'],
    ['secrets', 'databaseUrl', 'JIT_DATABASE_URL'],
  ];
  for (const [section, key, variable] of pairs) {
    const pattern = values.properties[section]!.properties[key]!.pattern!;
    t.equal(pattern.replace(/^\^\$\|/, ''), config.properties[variable]!.pattern, `${section}.${key} ~ ${variable}`);
  }
  t.same(values.properties['config']!.properties['logLevel']!.enum, config.properties['JIT_LOG_LEVEL']!.enum, 'log levels');
  const defaults = parseYamlFile(join(CHART_DIR, 'values.yaml')) as Record<string, unknown>;
  t.same(Object.keys(defaults).sort(), Object.keys(values.properties).filter((k) => k !== 'global').sort(), 'values.yaml and the schema list the same keys');
});

t.test('the validator is not vacuous: it rejects broken objects', async (t) => {
  const result = (name: keyof typeof broken) => validation.get(broken[name])?.error;
  t.ok(broken.original, 'a Deployment to break');
  t.equal(result('original'), null, 'the rendered Deployment is valid');
  t.match(result('typo'), /runAsNonroot.*not defined/, 'an unknown field');
  t.match(result('badPort'), /NumberFormat|Expected/, 'a string where an integer belongs');
  t.match(result('noName'), /required field `name`/, 'a missing required field');
  t.match(result('badQuantity'), /.+/, 'a malformed quantity');
});

t.test('the inactivity CronJob command works against the real API', async (t) => {
  const { objects } = renderings.everything;
  const cron = objects.find((o) => o.kind === 'CronJob')!;
  const container = spec<{ jobTemplate: { spec: { template: PodTemplate } } }>(cron).jobTemplate.spec.template.spec.containers[0]!;
  const env = containerEnv(objects, container, {});
  const adminToken = admin.authorization.replace(/^Bearer /, '');
  const app = await startTestApp({ JIT_ADMIN_TOKENS: `${adminToken},${ADMIN_TOKEN_VALUE}` });
  t.teardown(() => app.close());
  await app.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.app.server.address() as AddressInfo;
  const url = new URL(env['INACTIVITY_RUN_URL']!);
  const local = `http://127.0.0.1:${port}${url.pathname}`;
  const run = (tokens: string, body = env['INACTIVITY_RUN_BODY']!) =>
    new Promise<{ code: number | null; out: string }>((resolve) => {
      const [command, ...args] = container.command!;
      const child = spawn(command === 'node' ? process.execPath : command!, args, {
        env: { PATH: process.env.PATH ?? '', INACTIVITY_RUN_URL: local, INACTIVITY_RUN_BODY: body, INACTIVITY_RUN_TIMEOUT_MS: env['INACTIVITY_RUN_TIMEOUT_MS']!, JIT_ADMIN_TOKENS: tokens },
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      child.on('close', (code) => resolve({ code, out }));
    });
  const everyIdp = await run(env['JIT_ADMIN_TOKENS']!, '{}');
  t.equal(everyIdp.code, 0, everyIdp.out);
  t.match(everyIdp.out, /^200 /, 'POST /rest/jit/1.0/inactivity/run answered 200');
  const unknownIdp = await run(env['JIT_ADMIN_TOKENS']!);
  t.equal(unknownIdp.code, 1, 'a non-2xx answer fails the Job');
  t.match(unknownIdp.out, /^4\d\d /, `the configured body ${env['INACTIVITY_RUN_BODY']} reached the API`);
  const denied = await run('wrong-token-0123456789abcdef');
  t.equal(denied.code, 1, 'a rejected token fails the Job');
  t.match(denied.out, /^40[13] /);
});
