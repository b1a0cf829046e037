/* global document */
/** One user: profile, groups with where each came from, the history timeline, and (de)activation. */
import { getJson, postJson, userPath } from './api.js';
import { errorNotice, focusHeading, h, replace, toast } from './dom.js';
import { timeEl } from './format.js';
import { timeline } from './timeline.js';

function provenance(grant) {
  const who = grant.type === 'idp' ? `from ${grant['idp-id']}` : grant.type === 'additional-groups' ? `added for every user of ${grant['idp-id'] ?? 'the IdP'}` : 'granted by an administrator';
  return h('span', {}, `${who} · `, timeEl(grant['granted-at']));
}

function groupsCard(user) {
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'groups-title' },
    h('h2', { id: 'groups-title' }, 'Groups', h('span', { class: 'count' }, String(user.groups.length))),
    user.groups.length === 0
      ? h('p', { class: 'muted' }, 'Not a member of any group.')
      : h(
          'ul',
          { class: 'groups' },
          user.groups.map((group) => h('li', {}, h('span', { class: 'group-name' }, group.name), h('span', { class: 'provenance' }, group['granted-by'].map((g, i) => [i > 0 && '; ', provenance(g)])))),
        ),
  );
}

function profileCard(user, idpName) {
  const facts = [
    ['Username', user.username],
    ['Email', user.email || h('span', { class: 'muted' }, 'none')],
    ['Identity provider', `${idpName} (${user['idp-id']})`],
    ['Provisioned', timeEl(user['provisioned-at'], 'datetime')],
    ['Last sign-in', timeEl(user['last-login-at'], 'datetime')],
    user['deactivated-at'] && ['Deactivated', timeEl(user['deactivated-at'], 'datetime')],
    ['User ID', h('code', {}, user['user-id'])],
  ].filter(Boolean);
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'profile-title' },
    h('h2', { id: 'profile-title' }, 'Profile'),
    h('dl', { class: 'facts' }, facts.map(([term, value]) => [h('dt', {}, term), h('dd', {}, value)])),
    user.identities.length > 0 && [
      h('h3', { class: 'identities-title' }, 'Identities'),
      h('ul', { class: 'chips' }, user.identities.map((i) => h('li', { class: 'chip', title: `linked ${i['linked-at']}` }, `${i['idp-id']}: ${i.subject}`))),
    ],
  );
}

/** Asks before (de)activating, with an optional comment that goes into the event. */
function confirmAction(user, deactivate, onDone) {
  const comment = h('textarea', { id: 'action-comment', maxlength: 1024, placeholder: 'Why? (kept in the history)' });
  const verb = deactivate ? 'Deactivate' : 'Reactivate';
  const error = h('div');
  const dialog = h(
    'dialog',
    { 'aria-labelledby': 'action-title' },
    h(
      'form',
      {
        onsubmit: async (e) => {
          e.preventDefault();
          try {
            const body = comment.value.trim() ? { comment: comment.value.trim() } : {};
            const updated = await postJson(`${userPath(user.username)}/${deactivate ? 'deactivate' : 'reactivate'}`, body);
            dialog.close();
            toast(`${updated.username} ${deactivate ? 'deactivated' : 'reactivated'}`);
            onDone();
          } catch (failure) {
            replace(error, errorNotice(failure));
          }
        },
      },
      h('h2', { id: 'action-title' }, `${verb} ${user.username}?`),
      h('p', { class: 'muted' }, deactivate ? 'Their next logins are refused until someone reactivates them. Nothing else changes.' : 'They can sign in again; their next login updates them as usual.'),
      h('div', {}, h('label', { for: 'action-comment' }, 'Comment (optional)'), comment),
      error,
      h('div', { class: 'dialog-actions' }, h('button', { type: 'button', class: 'button quiet', onclick: () => dialog.close() }, 'Cancel'), h('button', { type: 'submit', class: `button ${deactivate ? 'danger solid' : 'primary'}` }, verb)),
    ),
  );
  dialog.addEventListener('close', () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
}

export async function renderUserDetail(root, ctx, username) {
  replace(root, h('p', { class: 'placeholder', role: 'status' }, 'Loading…'));
  let user;
  let events;
  try {
    [user, events] = await Promise.all([getJson(userPath(username)), getJson(`${userPath(username)}/history`)]);
  } catch (error) {
    replace(root, h('section', { class: 'view' }, h('a', { class: 'back', href: ctx.lastList }, '← All users'), h('h1', {}, username), errorNotice(error)));
    focusHeading(root);
    return;
  }
  const reload = () => renderUserDetail(root, ctx, user.username);
  const idpName = ctx.idps.find((i) => i.id === user['idp-id'])?.name ?? user['idp-id'];
  let withSignIns = true;
  const history = h('div', {}, timeline(events, { withSignIns }));
  const toggle = h('input', {
    type: 'checkbox',
    checked: true,
    onchange: () => {
      withSignIns = toggle.checked;
      replace(history, timeline(events, { withSignIns }));
    },
  });
  const action = user.active
    ? h('button', { type: 'button', class: 'button danger', onclick: () => confirmAction(user, true, reload) }, 'Deactivate…')
    : h('button', { type: 'button', class: 'button primary', onclick: () => confirmAction(user, false, reload) }, 'Reactivate…');

  replace(
    root,
    h(
      'article',
      { class: 'view', 'aria-labelledby': 'user-title' },
      h('a', { class: 'back', href: ctx.lastList }, '← All users'),
      h(
        'div',
        { class: 'detail-head' },
        h('div', { class: 'title' }, h('h1', { id: 'user-title' }, user['display-name'] || user.username), h('p', { class: 'muted' }, `${user.username}${user.email ? ` · ${user.email}` : ''}`)),
        user.active ? h('span', { class: 'badge ok' }, 'Active') : h('span', { class: 'badge bad' }, 'Deactivated'),
        h('div', { class: 'actions' }, action),
      ),
      h('div', { class: 'grid-2' }, profileCard(user, idpName), groupsCard(user)),
      h(
        'section',
        { class: 'card', 'aria-labelledby': 'history-title' },
        h('div', { class: 'timeline-head' }, h('h2', { id: 'history-title' }, 'History', h('span', { class: 'count' }, String(events.length))), h('label', { class: 'check' }, toggle, 'Show sign-ins')),
        history,
      ),
    ),
  );
  document.title = `${user.username} · JIT provisioning`;
  focusHeading(root);
}
