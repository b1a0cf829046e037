/** Dates for people: a short form in tables, the full instant on hover, relative where it helps. */
import { h } from './dom.js';

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'long' });
const relativeFormat = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

const UNITS = [
  ['year', 365 * 86400],
  ['month', 30 * 86400],
  ['week', 7 * 86400],
  ['day', 86400],
  ['hour', 3600],
  ['minute', 60],
];

export function relative(iso, now = Date.now()) {
  const seconds = (Date.parse(iso) - now) / 1000;
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size) return relativeFormat.format(Math.round(seconds / size), unit);
  }
  return 'just now';
}

/** <time> with a readable text and the exact instant as its title. */
export function timeEl(iso, style = 'date') {
  if (!iso) return h('span', { class: 'muted' }, 'never');
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return h('span', {}, iso);
  const text = style === 'relative' ? relative(iso) : style === 'datetime' ? dateTimeFormat.format(date) : dateFormat.format(date);
  return h('time', { datetime: date.toISOString(), title: fullFormat.format(date) }, text);
}

export function plural(n, one, many = `${one}s`) {
  return `${n.toLocaleString()} ${n === 1 ? one : many}`;
}

/** Who did it, as an admin reads it: admin tokens by their fingerprint, SSO admins by name. */
export function actorText(actor) {
  if (!actor) return 'unknown';
  if (actor.startsWith('sso:')) return `${actor.slice(4)} (signed in with SSO)`;
  if (actor.startsWith('admin:')) return `admin token ${actor.slice(6)}`;
  if (actor.startsWith('gateway')) return actor === 'gateway' ? 'the login gateway' : `the login gateway (${actor.slice(8)})`;
  if (actor.startsWith('system:')) return `the service (${actor.slice(7)})`;
  return actor;
}

export const OUTCOMES = {
  'would-provision': { tone: 'info', text: 'Would create a new user' },
  'would-update': { tone: 'warn', text: 'Would update the user' },
  unchanged: { tone: 'ok', text: 'Nothing would change' },
  'would-reject': { tone: 'bad', text: 'Would reject the login' },
};

export const REASONS = {
  'provisioning-disabled': 'provisioning is turned off for this IdP',
  'mapping-error': 'the attributes could not be mapped',
  'user-deactivated': 'the user is deactivated',
  'username-conflict': 'the username belongs to another identity',
  'idp-disabled': 'the IdP is disabled',
  'invalid-login': 'the login could not be verified',
};

export const FIELD_NAMES = { username: 'Username', 'display-name': 'Display name', email: 'Email' };
