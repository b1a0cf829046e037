/** A user's history as a timeline: each event with its time, a sentence, details and the actor. */
import { h } from './dom.js';
import { actorText, FIELD_NAMES, REASONS, timeEl } from './format.js';

const list = (items) => items.join(', ');

function groupChips(added = [], removed = []) {
  if (added.length === 0 && removed.length === 0) return undefined;
  return h(
    'ul',
    { class: 'chips', 'aria-label': 'Group changes' },
    added.map((g) => h('li', { class: 'chip add', title: 'joined' }, h('span', { class: 'visually-hidden' }, 'joined '), `+ ${g}`)),
    removed.map((g) => h('li', { class: 'chip remove', title: 'left' }, h('span', { class: 'visually-hidden' }, 'left '), `− ${g}`)),
  );
}

function fieldChanges(changes = {}) {
  const entries = Object.entries(changes);
  if (entries.length === 0) return undefined;
  return h(
    'div',
    { class: 'changes' },
    entries.map(([fieldName, change]) =>
      h('div', { class: 'change' }, `${FIELD_NAMES[fieldName] ?? fieldName}: `, h('span', { class: 'from' }, change.from || '(empty)'), ' → ', h('span', { class: 'to' }, change.to || '(empty)')),
    ),
  );
}

/** [tone, title, summary, details] for one event. */
function describe(event) {
  const d = event.data ?? {};
  switch (event.type) {
    case 'UserProvisioned':
      return ['info', 'Provisioned', `Created on first login through ${d['idp-id']} as ${d.username} (${d['display-name'] || 'no name'}, ${d.email || 'no email'}).`, groupChips(d.groups)];
    case 'UserUpdated': {
      const fields = Object.keys(d.changes ?? {}).map((f) => (FIELD_NAMES[f] ?? f).toLowerCase());
      const groups = (d['groups-added']?.length ?? 0) + (d['groups-removed']?.length ?? 0);
      const what = [...fields, ...(groups > 0 ? ['groups'] : [])];
      const by = d['idp-id'] ? `at a login through ${d['idp-id']}` : 'by an administrator';
      return ['warn', 'Updated', `Changed ${what.length > 0 ? list(what) : 'nothing visible'} ${by}.`, [fieldChanges(d.changes), groupChips(d['groups-added'], d['groups-removed'])]];
    }
    case 'UserLoggedIn':
      return ['ok', 'Signed in', `Signed in through ${d['idp-id']}${d.protocol ? ` (${String(d.protocol).toUpperCase()})` : ''}.`];
    case 'LoginRejected': {
      const problems = (d.problems ?? []).map((p) => h('div', { class: 'change' }, h('code', {}, p.code), ' ', p.message));
      return ['bad', 'Login refused', `A login through ${d['idp-id'] ?? 'an IdP'} was refused: ${REASONS[d.reason] ?? d.reason}.`, [d.message && h('div', { class: 'muted' }, d.message), problems]];
    }
    case 'UserDeactivated':
      return ['bad', 'Deactivated', d.reason === 'inactive' ? 'Deactivated after a long time without signing in.' : 'Deactivated by an administrator; later logins are refused.', d.comment && h('div', { class: 'muted' }, `“${d.comment}”`)];
    case 'UserReactivated':
      return ['ok', 'Reactivated', 'Allowed to sign in again.', d.comment && h('div', { class: 'muted' }, `“${d.comment}”`)];
    case 'UserIdentityLinked':
      return ['info', 'Identity linked', `Linked the identity ${d.subject} at ${d['idp-id']} to this user.`];
    default:
      return ['', event.type, 'An event this page does not describe yet.'];
  }
}

export function timelineItem(event) {
  const [tone, title, summary, details] = describe(event);
  const detail = [details].flat().filter(Boolean);
  return h(
    'li',
    { class: `event ${tone}`, dataset: { type: event.type } },
    h('div', { class: 'event-top' }, h('span', { class: 'event-type' }, title), h('span', { class: 'event-time' }, timeEl(event.recordedAt, 'datetime'))),
    h('p', { class: 'event-summary' }, summary),
    detail.length > 0 && h('div', { class: 'event-detail' }, detail),
    h('p', { class: 'event-actor' }, 'by ', h('code', { title: event.metadata?.actor }, actorText(event.metadata?.actor))),
  );
}

/** Newest first; sign-ins can be hidden, as they are most of a long history. */
export function timeline(events, { withSignIns }) {
  const shown = events.filter((e) => withSignIns || e.type !== 'UserLoggedIn').slice().reverse();
  if (shown.length === 0) return h('p', { class: 'placeholder' }, 'No events to show.');
  return h('ol', { class: 'timeline', 'aria-label': 'History, newest first' }, shown.map(timelineItem));
}
