/**
 * Impact analysis: what a proposed jit-configuration would do to every user of an IdP on their
 * next login (POST /idps/{id}/impact), from the attributes of their last one. Nothing is written.
 */
import { API, postJson } from './api.js';
import { errorNotice, field, focusHeading, h, options, replace } from './dom.js';
import { FIELD_NAMES, OUTCOMES, plural, REASONS } from './format.js';
import { problemList, readJson } from './problems.js';

function stat(n, label) {
  return h('div', { class: 'stat' }, h('div', { class: 'n' }, n.toLocaleString()), h('div', { class: 'label' }, label));
}

function groupTable(groups) {
  if (groups.length === 0) return h('p', { class: 'muted' }, 'No group memberships would change.');
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      {},
      h('caption', { class: 'visually-hidden' }, 'Group membership changes'),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Group'), h('th', { scope: 'col' }, 'Would join'), h('th', { scope: 'col' }, 'Would leave'))),
      h(
        'tbody',
        {},
        groups.map((g) => h('tr', {}, h('td', {}, g.group), h('td', { class: 'plus' }, g.added > 0 ? `+${g.added}` : '–'), h('td', { class: 'minus' }, g.removed > 0 ? `−${g.removed}` : '–'))),
      ),
    ),
  );
}

function userList(users) {
  if (users.length === 0) return undefined;
  const shown = users.slice(0, 50);
  return h(
    'section',
    {},
    h('h3', {}, `Users affected${users.length > shown.length ? ` (first ${shown.length} of ${users.length})` : ''}`),
    h(
      'ul',
      { class: 'groups' },
      shown.map((u) =>
        h(
          'li',
          {},
          h('a', { href: `#/users/${encodeURIComponent(u.username)}` }, u.username),
          h(
            'span',
            { class: 'provenance' },
            [
              OUTCOMES[u.outcome]?.text ?? u.outcome,
              u.reason && `(${REASONS[u.reason] ?? u.reason})`,
              ...Object.keys(u.changes ?? {}).map((f) => `${FIELD_NAMES[f] ?? f} changes`),
              ...(u['groups-added'] ?? []).map((g) => `+${g}`),
              ...(u['groups-removed'] ?? []).map((g) => `−${g}`),
            ]
              .filter(Boolean)
              .join(' · '),
          ),
        ),
      ),
    ),
  );
}

function renderImpact(result) {
  const fields = Object.entries(result.fields).filter(([, n]) => n > 0);
  return h(
    'div',
    { class: 'result' },
    result.summary?.length > 0 && h('ul', { class: 'summary' }, result.summary.map((s) => h('li', {}, s))),
    h(
      'div',
      { class: 'stats' },
      stat(result['users-analyzed'], 'users analyzed'),
      stat(result.outcomes['would-update'], 'would be updated'),
      stat(result.outcomes.unchanged, 'unchanged'),
      stat(result.outcomes['would-reject'], 'would be rejected'),
      result['users-without-attributes'] > 0 && stat(result['users-without-attributes'], 'without kept attributes'),
    ),
    h('section', {}, h('h3', {}, 'Groups'), groupTable(result.groups)),
    fields.length > 0 && h('section', {}, h('h3', {}, 'Fields'), h('p', {}, fields.map(([f, n]) => `${FIELD_NAMES[f] ?? f}: ${plural(n, 'user')}`).join(' · '))),
    userList(result.users),
  );
}

export function renderImpactView(root, ctx) {
  const idps = ctx.idps;
  const output = h('div', { class: 'card', 'aria-live': 'polite' }, h('h2', {}, 'Impact'), h('p', { class: 'placeholder' }, 'Propose a configuration to see whom it would affect.'));
  const select = h('select', { name: 'idp' }, options(idps.map((i) => [i.id, `${i.name} (${i['sso-type']})`]), ctx.testerIdp ?? idps[0]?.id));
  const proposal = h('textarea', { name: 'proposal', rows: 16, spellcheck: false });
  const current = () => idps.find((i) => i.id === select.value);
  const fill = () => {
    proposal.value = JSON.stringify(current()?.['jit-configuration'] ?? {}, null, 2);
  };
  select.addEventListener('change', () => {
    ctx.testerIdp = select.value;
    fill();
  });

  async function analyze(event) {
    event.preventDefault();
    const idp = current();
    if (!idp) return;
    const show = (...content) => replace(output, h('h2', {}, 'Impact'), content);
    let jit;
    try {
      jit = readJson(proposal, 'The proposed jit-configuration');
    } catch (error) {
      show(errorNotice(error), problemList(error.problems ?? []));
      return;
    }
    show(h('p', { class: 'placeholder', role: 'status' }, 'Analyzing…'));
    try {
      show(renderImpact(await postJson(`${API}/idps/${encodeURIComponent(idp.id)}/impact`, { 'jit-configuration': jit })));
    } catch (error) {
      const source = (name) => (typeof name === 'string' && name.startsWith('jit-configuration.') ? jit?.[name.slice('jit-configuration.'.length)] : undefined);
      const problems = error.problems ?? [];
      show(errorNotice(problems.length > 0 ? { message: 'The proposed configuration is not valid.' } : error), problems.length > 0 && problemList(problems, source));
    }
  }

  const form = h(
    'form',
    { class: 'card stack', onsubmit: analyze },
    h('h2', {}, 'Proposed configuration'),
    field('i-idp', 'Identity provider', select),
    field('i-proposal', 'jit-configuration (JSON)', proposal, 'Starts as the stored one; change what you plan to change. Fields you leave out keep their stored value.'),
    h('div', { class: 'row' }, h('button', { type: 'submit', class: 'button primary' }, 'Analyze'), h('button', { type: 'button', class: 'button quiet', onclick: fill }, 'Reset')),
  );

  replace(
    root,
    h(
      'section',
      { class: 'view', 'aria-labelledby': 'impact-title' },
      h('div', { class: 'view-head' }, h('div', {}, h('h1', { id: 'impact-title' }, 'Impact analysis'), h('p', { class: 'muted lead' }, 'What a mapping change would do to everyone of an IdP on their next login, from the attributes of their last one.'))),
      idps.length === 0 ? h('p', { class: 'card placeholder' }, 'There is no identity provider yet.') : h('div', { class: 'workbench' }, form, output),
    ),
  );
  fill();
  focusHeading(root);
}
