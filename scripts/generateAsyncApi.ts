/**
 * The AsyncAPI 3.0 description of our Kafka topics, generated from schemas/ (never written by
 * hand): jit.users.v1 with one message per user event type (payload = the event's data schema,
 * headers = the CloudEvents binary-mode headers, key = userId) and jit.logins.v1 (payload =
 * LoginSucceeded, key = idpId:subject). `npx tsx scripts/generateAsyncApi.ts` writes
 * docs/asyncapi.yaml; `--check` fails when that file is out of date. scripts/writeDocs.ts writes
 * it together with docs/openapi.json.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { stringify } from 'yaml';
import { USER_EVENT_TYPES, cloudEventType, eventSchemaId } from '../events/catalogue.js';
import { schemaDocuments, type SchemaDocument } from '../schemas/registry.js';
import { CE_SOURCE } from '../services/shared/kafka/cloudEvents.js';
import { USERS_TOPIC_CONFIG } from '../services/shared/kafka/kafkaClient.js';

export const ASYNCAPI_FILE = fileURLToPath(new URL('../docs/asyncapi.yaml', import.meta.url));

const KAFKA_BINDING = '0.5.0';
const LOGIN_SCHEMA_ID = 'https://schemas.jit-provisioning.dev/login-succeeded.schema.json';
/** Partitions ensureTopics creates the topics with. */
const PARTITIONS = 6;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A component name for a schema document: UserProvisioned, LoginSucceeded, Common. */
function componentName(doc: SchemaDocument): string {
  return basename(doc.$id, '.schema.json')
    .split(/[-_.]/)
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}

/**
 * A schema document as an AsyncAPI component: without $schema and $id (the document is the base
 * now), its $refs pointing at the components the referenced documents become.
 */
function asComponent(doc: SchemaDocument, names: ReadonlyMap<string, string>, needed: Set<string>): Json {
  const rewrite = (value: unknown): Json => {
    if (Array.isArray(value)) return value.map(rewrite);
    if (value === null || typeof value !== 'object') return value as Json;
    const out: { [key: string]: Json } = {};
    for (const [key, item] of Object.entries(value)) {
      if (key === '$schema' || key === '$id') continue;
      if (key === '$ref' && typeof item === 'string') {
        const [target = '', fragment = ''] = item.split('#');
        const name = names.get(target);
        if (!name) throw new Error(`${doc.$id}: $ref ${item} points outside schemas/`);
        needed.add(target);
        out[key] = `#/components/schemas/${name}${fragment}`;
      } else {
        out[key] = rewrite(item);
      }
    }
    return out;
  };
  return rewrite(doc);
}

const ref = (pointer: string) => ({ $ref: pointer });

function cloudEventHeaders(): Json {
  const text = (description: string, extra: { [key: string]: Json } = {}) => ({ type: 'string', description, ...extra });
  return {
    type: 'object',
    description: 'CloudEvents 1.0 Kafka protocol binding, binary content mode: the event attributes travel as ce_* headers, plus our ordering and tracing headers.',
    required: ['ce_specversion', 'ce_id', 'ce_type', 'ce_source', 'ce_time', 'content-type', 'jit_position', 'jit_revision', 'jit_stream', 'jit_correlation_id', 'jit_actor'],
    properties: {
      ce_specversion: text('CloudEvents version.', { const: '1.0' }),
      ce_id: text('The eventId: unique per event. Delivery is at-least-once; consumers deduplicate by ce_id.', { format: 'uuid' }),
      ce_type: text('jit.<EventType>.v<schemaVersion>.', { pattern: '^jit\\.[A-Za-z]+\\.v[0-9]+$' }),
      ce_source: text('The event store that recorded the event.', { const: CE_SOURCE }),
      ce_time: text('When the event store recorded the event (recordedAt).', { format: 'date-time' }),
      ce_subject: text('The userId, on events of a user stream (the message key then).', { format: 'uuid' }),
      'content-type': text('Media type of the value.', { const: 'application/json' }),
      jit_position: text('Global position in the event store: gap-free and ordered; a consumer may resume from it.', { pattern: '^[1-9][0-9]*$' }),
      jit_revision: text("Revision of the event in its stream (0-based): per-user order; a hole means a missed event.", { pattern: '^[0-9]+$' }),
      jit_stream: text('Stream id: user-<userId>, or the stream of a gateway rejection.'),
      jit_correlation_id: text('Correlation id (the HTTP request id, or kafka:<topic>:<partition>:<offset> for logins from jit.logins.v1).'),
      jit_actor: text('Who caused the event: gateway, gateway:saml, admin:<token>, system:inactivity, …'),
      jit_login_id: text('The loginId of the login that caused the event, when a login did.', { format: 'uuid' }),
      jit_causation_id: text('The id of what caused the event, when known.'),
    },
  };
}

export function generateAsyncApi(): Json {
  const docs = schemaDocuments();
  const names = new Map(docs.map((doc) => [doc.$id, componentName(doc)]));
  const byId = new Map(docs.map((doc) => [doc.$id, doc]));
  const needed = new Set<string>();
  const schemas: { [key: string]: Json } = {};
  const include = (id: string) => {
    const doc = byId.get(id);
    if (!doc) throw new Error(`no schema ${id} in schemas/`);
    schemas[names.get(id)!] = asComponent(doc, names, needed);
  };
  const messages: { [key: string]: Json } = {};
  const userMessages: { [key: string]: Json } = {};
  for (const type of USER_EVENT_TYPES) {
    const id = eventSchemaId(type);
    include(id);
    const doc = byId.get(id)!;
    messages[type] = {
      name: type,
      title: type,
      summary: String(doc['description'] ?? type),
      contentType: 'application/json',
      headers: { allOf: [ref('#/components/schemas/CloudEventHeaders'), { type: 'object', properties: { ce_type: { type: 'string', const: cloudEventType(type) } } }] },
      payload: ref(`#/components/schemas/${names.get(id)!}`),
      correlationId: ref('#/components/correlationIds/loginId'),
      bindings: { kafka: { key: { type: 'string', description: 'The userId (a UUID) for user events: one user’s events share a partition and keep their order.' }, bindingVersion: KAFKA_BINDING } },
    };
    userMessages[type] = ref(`#/components/messages/${type}`);
  }
  include(LOGIN_SCHEMA_ID);
  const loginDoc = byId.get(LOGIN_SCHEMA_ID)!;
  messages['LoginSucceeded'] = {
    name: 'LoginSucceeded',
    title: 'LoginSucceeded',
    summary: String(loginDoc['description']),
    contentType: 'application/json',
    payload: ref(`#/components/schemas/${names.get(LOGIN_SCHEMA_ID)!}`),
    bindings: { kafka: { key: { type: 'string', description: 'idpId:subject, so that one identity’s logins stay in order.', pattern: '^[a-z0-9][a-z0-9-]{0,62}:.+$' }, bindingVersion: KAFKA_BINDING } },
  };
  // Referenced documents (common.schema.json…) become components too, transitively.
  for (let before = -1; before !== needed.size; ) {
    before = needed.size;
    for (const id of [...needed]) if (!schemas[names.get(id)!]) include(id);
  }
  schemas['CloudEventHeaders'] = cloudEventHeaders();
  const topicConfiguration = Object.fromEntries(
    (USERS_TOPIC_CONFIG ?? []).map(({ name, value }) => [name, name === 'cleanup.policy' ? value.split(',') : Number(value)]),
  );

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'JIT Provisioning Service events',
      version: '1.0.0',
      description:
        'Kafka topics of the JIT Provisioning Service. jit.users.v1 is the audit log of every user event, published by the relay from the event store in position order (at-least-once, per-user order); consumers replay it from offset 0 and deduplicate by ce_id. jit.logins.v1 takes verified logins from external SSO gateways. Topic names carry the JIT_KAFKA_TOPIC_PREFIX. Generated from schemas/ by scripts/generateAsyncApi.ts.',
    },
    defaultContentType: 'application/json',
    servers: {
      kafka: {
        host: '127.0.0.1:9092',
        protocol: 'kafka',
        description: 'The cluster named by JIT_KAFKA_BROKERS (this is the local development broker of make kafka-up).',
      },
    },
    channels: {
      users: {
        address: 'jit.users.v1',
        title: 'User events',
        description: 'Every user event. Key: userId. Value: the event data as JSON. Unlimited retention, no compaction: the audit log.',
        servers: [ref('#/servers/kafka')],
        messages: userMessages,
        bindings: { kafka: { topic: 'jit.users.v1', partitions: PARTITIONS, topicConfiguration, bindingVersion: KAFKA_BINDING } },
      },
      logins: {
        address: 'jit.logins.v1',
        title: 'Verified logins from external gateways',
        description: 'LoginSucceeded from external SSO gateways; each goes through the same command handler as POST /rest/jit/1.0/logins. Malformed messages and logins for unknown IdPs are parked.',
        servers: [ref('#/servers/kafka')],
        messages: { LoginSucceeded: ref('#/components/messages/LoginSucceeded') },
        bindings: { kafka: { topic: 'jit.logins.v1', partitions: PARTITIONS, bindingVersion: KAFKA_BINDING } },
      },
    },
    operations: {
      publishUserEvents: {
        action: 'send',
        channel: ref('#/channels/users'),
        title: 'The relay publishes committed user events',
        summary: 'Only what the event store committed, in position order, after Kafka acknowledged the previous batch.',
        messages: USER_EVENT_TYPES.map((type) => ref(`#/channels/users/messages/${type}`)),
      },
      receiveLogins: {
        action: 'receive',
        channel: ref('#/channels/logins'),
        title: 'Provisioning consumes verified logins',
        summary: 'Consumer group <prefix>jit-provisioning; each login is provisioned like an HTTP login.',
        messages: [ref('#/channels/logins/messages/LoginSucceeded')],
        bindings: { kafka: { groupId: { type: 'string', const: 'jit-provisioning', description: 'Prefixed with JIT_KAFKA_TOPIC_PREFIX.' }, bindingVersion: KAFKA_BINDING } },
      },
    },
    components: {
      schemas,
      messages,
      correlationIds: {
        loginId: { description: 'The login that caused the event.', location: '$message.header#/jit_login_id' },
      },
    },
  };
}

export function asyncApiYaml(): string {
  return `# Generated by scripts/generateAsyncApi.ts from schemas/: do not edit by hand (make docs).\n${stringify(generateAsyncApi(), { lineWidth: 0, aliasDuplicateObjects: false })}`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const text = asyncApiYaml();
  if (process.argv.includes('--check')) {
    const current = await readFile(ASYNCAPI_FILE, 'utf8').catch(() => '');
    if (current !== text) {
      process.stderr.write(`${join('docs', 'asyncapi.yaml')} is out of date: run make docs\n`);
      process.exit(1);
    }
  } else {
    await writeFile(ASYNCAPI_FILE, text);
    process.stdout.write(`wrote ${ASYNCAPI_FILE}\n`);
  }
}
