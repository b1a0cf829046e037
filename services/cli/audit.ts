/** jit audit <username>: a user's history as readable lines (or JSON lines with --json). */
import type { RawRecordedEvent } from '../../events/envelope.js';

type Data = Record<string, unknown>;

function list(value: unknown): string {
  return Array.isArray(value) ? value.map(String).join(', ') : '';
}

export function describeEvent(event: RawRecordedEvent): string {
  const d = (event.data ?? {}) as Data;
  switch (event.type) {
    case 'UserProvisioned':
      return `provisioned as ${String(d['username'])} <${String(d['email'])}> "${String(d['display-name'])}" via ${String(d['idp-id'])}; groups: ${list(d['groups']) || '(none)'}`;
    case 'UserUpdated': {
      const changes = Object.entries((d['changes'] ?? {}) as Record<string, { from: string; to: string }>).map(([field, c]) => `${field} "${c.from}" → "${c.to}"`);
      if (list(d['groups-added'])) changes.push(`joined ${list(d['groups-added'])}`);
      if (list(d['groups-removed'])) changes.push(`left ${list(d['groups-removed'])}`);
      if (changes.length === 0) changes.push('group provenance changed');
      return `updated${d['idp-id'] ? ` via ${String(d['idp-id'])}` : ' by an administrator'}: ${changes.join('; ')}`;
    }
    case 'UserLoggedIn':
      return `logged in via ${String(d['idp-id'])} (${String(d['protocol'])}) at ${String(d['authenticated-at'])}`;
    case 'LoginRejected':
      return `login rejected (${String(d['reason'])}): ${String(d['message'])}`;
    case 'UserDeactivated':
      return `deactivated (${String(d['reason'])})${d['comment'] ? `: ${String(d['comment'])}` : ''}`;
    case 'UserReactivated':
      return `reactivated${d['comment'] ? `: ${String(d['comment'])}` : ''}`;
    case 'UserIdentityLinked':
      return `identity ${String(d['idp-id'])}/${String(d['subject'])} linked`;
    default:
      return `${event.type} ${JSON.stringify(event.data)}`;
  }
}

export function auditLine(event: RawRecordedEvent): string {
  return `${event.recordedAt}  #${String(event.position).padEnd(7)} ${event.type.padEnd(18)} ${describeEvent(event)}  [${event.metadata.actor}]`;
}
