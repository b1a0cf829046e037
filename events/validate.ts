import { describeErrors, validatorFor } from '../schemas/registry.js';
import { eventSchemaId, isEventType, type DomainEvent } from './catalogue.js';

/** Problems with an event's data against its schema; empty when valid or the type is unknown. */
export function eventDataProblems(type: string, data: unknown): string[] {
  if (!isEventType(type)) return [`unknown event type '${type}'`];
  const validate = validatorFor(eventSchemaId(type));
  return validate(data) ? [] : describeErrors(validate.errors, 'data');
}

/** Narrows an untrusted { type, data } to a DomainEvent, or throws listing every problem. */
export function assertDomainEvent(event: { type: string; data: unknown }): asserts event is DomainEvent {
  const problems = eventDataProblems(event.type, event.data);
  if (problems.length > 0) {
    throw new TypeError(`invalid ${event.type} event: ${problems.join('; ')}`);
  }
}
