/**
 * Kafka messages of jit.users.v1: CloudEvents 1.0 binary mode. The value is the event data as
 * JSON; attributes travel as ce_* headers, plus jit_position / jit_revision for ordering and
 * dedup, and the metadata our consumers need to rebuild the envelope.
 */
import type { IHeaders, KafkaMessage, Message } from 'kafkajs';
import { CURRENT_SCHEMA_VERSION, USER_STREAM_PREFIX, cloudEventType, isEventType } from '../../../events/catalogue.js';
import type { RawRecordedEvent } from '../../../events/envelope.js';

export const CE_SOURCE = 'urn:jit-provisioning:event-store';

/** The message key: the user id for user streams, the stream id otherwise (gateway rejections). */
export function messageKey(event: RawRecordedEvent): string {
  return event.streamId.startsWith(USER_STREAM_PREFIX) ? event.streamId.slice(USER_STREAM_PREFIX.length) : event.streamId;
}

export function toKafkaMessage(event: RawRecordedEvent): Message {
  const key = messageKey(event);
  const headers: IHeaders = {
    ce_specversion: '1.0',
    ce_id: event.eventId,
    ce_type: isEventType(event.type) ? cloudEventType(event.type, event.metadata.schemaVersion) : `jit.${event.type}.v${event.metadata.schemaVersion}`,
    ce_source: CE_SOURCE,
    ce_time: event.recordedAt,
    'content-type': 'application/json',
    jit_position: String(event.position),
    jit_revision: String(event.revision),
    jit_stream: event.streamId,
    jit_correlation_id: event.metadata.correlationId,
    jit_actor: event.metadata.actor,
  };
  if (event.streamId.startsWith(USER_STREAM_PREFIX)) headers['ce_subject'] = key;
  if (event.metadata.loginId) headers['jit_login_id'] = event.metadata.loginId;
  if (event.metadata.causationId) headers['jit_causation_id'] = event.metadata.causationId;
  return { key, value: JSON.stringify(event.data), headers };
}

function header(headers: IHeaders | undefined, name: string): string | undefined {
  const value = headers?.[name];
  if (value === undefined) return undefined;
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? undefined : first.toString();
}

export type DecodeResult = { ok: true; event: RawRecordedEvent } | { ok: false; reason: string };

/** Rebuilds the envelope from a message; anything malformed is a reason to park it. */
export function fromKafkaMessage(message: KafkaMessage): DecodeResult {
  const h = message.headers;
  const type = /^jit\.([A-Za-z]+)\.v([0-9]+)$/.exec(header(h, 'ce_type') ?? '');
  if (header(h, 'ce_specversion') !== '1.0') return { ok: false, reason: 'missing or unsupported ce_specversion' };
  if (!type?.[1] || !type[2]) return { ok: false, reason: `unrecognized ce_type '${header(h, 'ce_type') ?? ''}'` };
  if (!isEventType(type[1])) return { ok: false, reason: `unknown event type ${type[1]}` };
  const schemaVersion = Number(type[2]);
  if (schemaVersion > CURRENT_SCHEMA_VERSION) return { ok: false, reason: `event schema version ${schemaVersion} is newer than this service understands` };
  const eventId = header(h, 'ce_id');
  const position = Number(header(h, 'jit_position'));
  const revision = Number(header(h, 'jit_revision'));
  const recordedAt = header(h, 'ce_time');
  const streamId = header(h, 'jit_stream') ?? (message.key ? `${USER_STREAM_PREFIX}${message.key.toString()}` : undefined);
  if (!eventId || !recordedAt || !streamId || !Number.isSafeInteger(position) || position < 1 || !Number.isSafeInteger(revision) || revision < 0) {
    return { ok: false, reason: 'missing ce_id, ce_time, jit_position or jit_revision' };
  }
  let data: unknown;
  try {
    data = JSON.parse(message.value?.toString('utf8') ?? '');
  } catch {
    return { ok: false, reason: 'the value is not JSON' };
  }
  const loginId = header(h, 'jit_login_id');
  const causationId = header(h, 'jit_causation_id');
  return {
    ok: true,
    event: {
      eventId,
      type: type[1],
      data,
      metadata: {
        correlationId: header(h, 'jit_correlation_id') ?? eventId,
        actor: header(h, 'jit_actor') ?? 'unknown',
        schemaVersion,
        ...(loginId ? { loginId } : {}),
        ...(causationId ? { causationId } : {}),
      },
      streamId,
      revision,
      position,
      recordedAt,
    },
  };
}
