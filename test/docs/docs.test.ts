/**
 * The published descriptions cannot drift from the code: docs/openapi.json and docs/asyncapi.yaml
 * equal what `make docs` generates now. The AsyncAPI document is valid AsyncAPI 3.0.0 (the
 * specification's own JSON Schema), its references hold together, every user event type has a
 * message, and real Kafka messages of this service fit the documented payloads and headers.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import AjvModule from 'ajv';
import addFormatsModule from 'ajv-formats';
import t from 'tap';
import { parse } from 'yaml';
import { EVENT_TYPES, USER_EVENT_TYPES, isUserEventType } from '../../events/catalogue.js';
import { toKafkaMessage } from '../../services/shared/kafka/cloudEvents.js';
import { ASYNCAPI_FILE } from '../../scripts/generateAsyncApi.js';
import { OPENAPI_FILE, renderDocs } from '../../scripts/writeDocs.js';
import { AUTHCONFIG, startApi } from '../api/fixtures/api.js';
import { samlIdp, samlLogin } from '../support/fixtures.js';

// ajv (draft-07, what AsyncAPI schemas are) and ajv-formats are CommonJS.
const Ajv = AjvModule as unknown as typeof AjvModule.default;
const addFormats = addFormatsModule as unknown as (ajv: InstanceType<typeof Ajv>) => void;
const require = createRequire(import.meta.url);

type Doc = Record<string, unknown>;

function resolvePointer(doc: unknown, pointer: string): unknown {
  if (!pointer.startsWith('#')) return undefined;
  let node: unknown = doc;
  for (const raw of pointer.slice(1).split('/').slice(1)) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (node === null || typeof node !== 'object' || !(key in node)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

function collectRefs(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((v) => collectRefs(v, out));
  else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (key === '$ref' && typeof item === 'string') out.push(item);
      else collectRefs(item, out);
    }
  }
  return out;
}

const readAsyncApi = async () => parse(await readFile(ASYNCAPI_FILE, 'utf8')) as Doc;

t.test('docs/openapi.json and docs/asyncapi.yaml are what the code generates (make docs)', async (t) => {
  for (const [file, generated] of await renderDocs()) {
    const committed = await readFile(file, 'utf8').catch(() => '(missing)');
    t.ok(committed === generated, `${file} is up to date (run make docs after changing routes or schemas/)`);
  }
  const openapi = JSON.parse(await readFile(OPENAPI_FILE, 'utf8')) as { openapi: string; paths: Record<string, unknown> };
  t.equal(openapi.openapi, '3.1.0');
  for (const path of ['/rest/authconfig/1.0/jit-users', '/rest/jit/1.0/logins', '/healthz', '/readyz', '/metrics', '/sso/{idpId}/login']) t.ok(openapi.paths[path], `${path} is described`);
});

t.test('the AsyncAPI document is valid AsyncAPI 3.0.0', async (t) => {
  const doc = await readAsyncApi();
  const spec = require('@asyncapi/specs/schemas/3.0.0-without-$id.json') as object;
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
  addFormats(ajv);
  const validate = ajv.compile(spec);
  const valid = validate(doc);
  t.ok(valid, 'the specification schema accepts it');
  if (!valid) t.comment(JSON.stringify(validate.errors?.slice(0, 10), null, 2));
  const broken = validate({ ...doc, operations: { x: { action: 'publish', channel: { $ref: '#/channels/users' } } } });
  t.notOk(broken, 'and would refuse a 2.x-style operation (the check has teeth)');
});

t.test('channels, operations and messages reference what exists; every user event type has a message', async (t) => {
  const doc = await readAsyncApi();
  const refs = collectRefs(doc);
  t.ok(refs.length > 20);
  t.same(refs.filter((r) => resolvePointer(doc, r) === undefined), [], 'every $ref resolves inside the document');

  const channels = doc['channels'] as Record<string, { address: string; messages: Record<string, { $ref: string }> }>;
  t.same(Object.values(channels).map((c) => c.address).sort(), ['jit.logins.v1', 'jit.users.v1']);
  for (const [name, channel] of Object.entries(channels)) {
    for (const message of Object.values(channel.messages)) t.match(message.$ref, /^#\/components\/messages\//, `channel ${name}: messages are components`);
  }
  const operations = doc['operations'] as Record<string, { action: string; channel: { $ref: string }; messages: { $ref: string }[] }>;
  for (const [name, operation] of Object.entries(operations)) {
    t.ok(resolvePointer(doc, operation.channel.$ref), `${name}: its channel exists`);
    for (const message of operation.messages) t.ok(message.$ref.startsWith(`${operation.channel.$ref}/messages/`), `${name}: ${message.$ref} is a message of its channel`);
  }
  t.same(Object.values(operations).map((o) => `${o.action} ${o.channel.$ref}`).sort(), ['receive #/channels/logins', 'send #/channels/users']);

  const components = doc['components'] as { messages: Record<string, { payload: { $ref: string }; headers?: unknown }>; schemas: Record<string, unknown> };
  for (const type of USER_EVENT_TYPES) {
    t.ok(channels['users']?.messages[type], `jit.users.v1 carries ${type}`);
    t.equal(components.messages[type]?.payload.$ref, `#/components/schemas/${type}`, `${type}: payload is the event's data schema`);
    t.ok(components.messages[type]?.headers, `${type}: CloudEvents headers`);
  }
  const internal = EVENT_TYPES.filter((type) => !isUserEventType(type));
  t.same(internal.filter((type) => channels['users']?.messages[type]), [], 'IdP configuration events stay internal');
  t.equal(components.messages['LoginSucceeded']?.payload.$ref, '#/components/schemas/LoginSucceeded');
});

t.test('real messages of this service fit the documented payloads, headers and keys', async (t) => {
  const doc = await readAsyncApi();
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema(doc, 'asyncapi');
  const validatorOf = (pointer: string) => ajv.compile({ $ref: `asyncapi${pointer}` });

  const api = await startApi(t);
  await api.createIdp(samlIdp());
  await api.createIdp(samlIdp({ id: 'linked', name: 'Linked' }, { 'link-existing-users': true }));
  await api.createIdp(samlIdp({ id: 'closed', name: 'Closed' }, { 'user-provisioning-enabled': false }));
  await api.loginOk(samlLogin('alice'));
  await api.loginOk(samlLogin('alice', { email: ['alice@new.example.com'], groups: ['jira-users', 'confluence-users'] }));
  await api.loginOk(samlLogin('alice', {}, { idpId: 'linked' }));
  t.equal((await api.login(samlLogin('bob', {}, { idpId: 'closed' }))).statusCode, 403);
  t.equal((await api.post(`${AUTHCONFIG}/jit-users/alice/deactivate`, {})).statusCode, 200);
  t.equal((await api.post(`${AUTHCONFIG}/jit-users/alice/reactivate`, {})).statusCode, 200);

  const events = (await api.runtime.store.readAll()).filter((e) => isUserEventType(e.type));
  t.same([...new Set(events.map((e) => e.type))].sort(), [...USER_EVENT_TYPES].sort(), 'the sample has every user event type');
  for (const event of events) {
    const message = toKafkaMessage(event);
    const payload = validatorOf(`#/components/messages/${event.type}/payload`);
    t.ok(payload(JSON.parse(String(message.value))), `${event.type} #${event.position}: the value fits the payload schema ${JSON.stringify(payload.errors ?? [])}`);
    const headers = validatorOf(`#/components/messages/${event.type}/headers`);
    const text = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
    t.ok(headers(text), `${event.type} #${event.position}: the headers fit ${JSON.stringify(headers.errors ?? [])}`);
    const key = validatorOf(`#/components/messages/${event.type}/bindings/kafka/key`);
    t.ok(key(String(message.key)), `${event.type}: the key fits`);
  }
  const provisioned = events.find((e) => e.type === 'UserProvisioned')!;
  const payload = validatorOf('#/components/messages/UserProvisioned/payload');
  const { username: _username, ...withoutUsername } = provisioned.data as Record<string, unknown>;
  t.notOk(payload(withoutUsername), 'a UserProvisioned without its username does not fit (the schemas are really applied)');
  const wrongType = validatorOf('#/components/messages/UserProvisioned/headers');
  t.notOk(wrongType({ ...Object.fromEntries(Object.entries(toKafkaMessage(provisioned).headers ?? {}).map(([k, v]) => [k, String(v)])), ce_type: 'jit.UserUpdated.v1' }), 'a UserProvisioned message needs its own ce_type');

  const login = validatorOf('#/components/messages/LoginSucceeded/payload');
  t.ok(login(samlLogin('carol')), 'a LoginSucceeded fits jit.logins.v1');
  t.notOk(login({ ...samlLogin('carol'), protocol: 'kerberos' }));
  t.ok(validatorOf('#/components/messages/LoginSucceeded/bindings/kafka/key')('okta:carol@example.com'), 'key idpId:subject');
});
