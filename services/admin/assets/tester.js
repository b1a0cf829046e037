/**
 * The mapping tester: a sample login (SAML name-id + attributes, or OIDC claims) against an IdP's
 * mapping, stored or proposed, through POST /idps/{id}/jit-test. Nothing is written.
 */
import { API, postJson } from './api.js';
import { errorNotice, field, focusHeading, h, options, replace } from './dom.js';
import { FIELD_NAMES, OUTCOMES, REASONS } from './format.js';
import { problemList, readJson } from './problems.js';

function sampleValue(name) {
  const key = name.toLowerCase();
  if (key.includes('mail')) return 'Ada.Lovelace@example.com';
  if (/first|given/.test(key)) return 'Ada';
  if (/last|family|sur/.test(key)) return 'Lovelace';
  if (/name|display/.test(key)) return 'Ada Lovelace';
  return 'ada';
}

/** An example login shaped after the IdP's own mapping: its variables, with plausible values. */
export function exampleLogin(idp) {
  const jit = idp['jit-configuration'] ?? {};
  const names = new Set();
  for (const expression of [jit['mapping-display-name'], jit['mapping-email'], idp['username-attribute'], idp['username-claim']]) {
    for (const match of String(expression ?? '').matchAll(/\$\{\s*([^}|\s]+)/g)) names.add(match[1]);
  }
  const groups = jit['mapping-groups'];
  if (idp['sso-type'] === 'OIDC') {
    const claims = { sub: '00u1ada' };
    for (const name of names) if (name !== 'sub') claims[name] = sampleValue(name);
    if (groups) claims[groups] = ['jira-users', 'developers'];
    return { claims };
  }
  const attributes = {};
  for (const name of names) if (name.toLowerCase() !== 'nameid') attributes[name] = [sampleValue(name)];
  if (groups) attributes[groups] = ['jira-users', 'developers'];
  return { 'name-id': 'ada@example.com', attributes };
}

/** The expression a problem's field names, in the configuration that was tested. */
function expressionSource(idp, proposal) {
  const effective = { ...idp, ...proposal, 'jit-configuration': { ...idp['jit-configuration'], ...proposal?.['jit-configuration'] } };
  const jit = effective['jit-configuration'];
  const byField = {
    username: effective['username-attribute'] ?? effective['username-claim'],
    'display-name': jit['mapping-display-name'],
    email: jit['mapping-email'],
    groups: jit['mapping-groups'],
  };
  return (name) => {
    if (!name) return undefined;
    if (name in byField) return byField[name];
    return name.split('.').reduce((node, key) => (node && typeof node === 'object' ? node[key] : undefined), effective);
  };
}

function chips(groups, kind) {
  return h('ul', { class: 'chips' }, groups.map((g) => h('li', { class: `chip ${kind ?? ''}` }, kind === 'add' ? `+ ${g}` : kind === 'remove' ? `− ${g}` : g)));
}

export function renderResult(result, expressionFor) {
  const outcome = OUTCOMES[result.outcome] ?? { tone: '', text: result.outcome };
  const changes = Object.entries(result.changes ?? {});
  const added = result['groups-added'] ?? [];
  const removed = result['groups-removed'] ?? [];
  const user = result.user;
  return h(
    'div',
    { class: 'result', dataset: { outcome: result.outcome } },
    h(
      'div',
      { class: 'outcome' },
      h('span', { class: `badge ${outcome.tone}` }, result.outcome),
      h('span', { class: 'sentence' }, outcome.text, result.reason && `: ${REASONS[result.reason] ?? result.reason}`),
    ),
    user &&
      h(
        'section',
        {},
        h('h3', {}, 'Mapped user'),
        h('dl', { class: 'facts' }, [
          [h('dt', {}, 'Username'), h('dd', {}, user.username)],
          [h('dt', {}, 'Display name'), h('dd', {}, user['display-name'])],
          [h('dt', {}, 'Email'), h('dd', {}, user.email)],
          [h('dt', {}, 'Groups'), h('dd', {}, user.groups.length > 0 ? chips(user.groups) : h('span', { class: 'muted' }, 'none'))],
        ]),
      ),
    changes.length > 0 &&
      h(
        'section',
        {},
        h('h3', {}, 'Changes to the stored user'),
        changes.map(([name, change]) => h('div', { class: 'change' }, `${FIELD_NAMES[name] ?? name}: `, h('span', { class: 'from' }, change.from || '(empty)'), ' → ', h('span', { class: 'to' }, change.to || '(empty)'))),
      ),
    (added.length > 0 || removed.length > 0) && h('section', {}, h('h3', {}, 'Groups'), chips(added, 'add'), removed.length > 0 && chips(removed, 'remove')),
    result.problems.length > 0 && h('section', {}, h('h3', {}, 'Problems'), problemList(result.problems, expressionFor)),
  );
}

export function renderTester(root, ctx) {
  const idps = ctx.idps;
  const output = h('div', { class: 'card', 'aria-live': 'polite', 'aria-labelledby': 'tester-result-title' }, h('h2', { id: 'tester-result-title' }, 'Result'), h('p', { class: 'placeholder' }, 'Run a sample login to see what would happen.'));
  const select = h('select', { name: 'idp' }, options(idps.map((i) => [i.id, `${i.name} (${i['sso-type']})`]), ctx.testerIdp ?? idps[0]?.id));
  const sample = h('textarea', { name: 'sample', rows: 12, spellcheck: false });
  const proposal = h('textarea', { name: 'proposal', rows: 10, spellcheck: false });
  const details = h('details', {}, h('summary', {}, 'Try a different mapping (optional)'), field('t-proposal', 'Proposed changes (JSON, fields as in PATCH)', proposal, 'Tested instead of the stored configuration; not saved.'));
  const current = () => idps.find((i) => i.id === select.value);
  let example = '';

  function fill(force) {
    const idp = current();
    if (!idp) return;
    const next = JSON.stringify(exampleLogin(idp), null, 2);
    if (force || sample.value.trim() === '' || sample.value === example) sample.value = next;
    example = next;
    proposal.value = JSON.stringify({ 'jit-configuration': idp['jit-configuration'] ?? {} }, null, 2);
  }
  select.addEventListener('change', () => {
    ctx.testerIdp = select.value;
    fill(false);
  });

  async function run(event) {
    event.preventDefault();
    const idp = current();
    if (!idp) return;
    let body;
    let proposed;
    try {
      body = readJson(sample, 'The sample login');
      if (idp['sso-type'] === 'OIDC' && body && typeof body === 'object' && !('claims' in body)) body = { claims: body };
      if (details.open) {
        proposed = readJson(proposal, 'The proposed configuration');
        body = { ...body, idp: proposed };
      }
    } catch (error) {
      replace(output, h('h2', {}, 'Result'), errorNotice(error), problemList(error.problems ?? []));
      return;
    }
    const expressionFor = expressionSource(idp, proposed);
    try {
      const result = await postJson(`${API}/idps/${encodeURIComponent(idp.id)}/jit-test`, body);
      replace(output, h('h2', {}, 'Result'), renderResult(result, expressionFor));
    } catch (error) {
      const problems = error.problems ?? [];
      const notice = problems.length > 0 ? { message: 'The proposed configuration is not valid; nothing was tested.' } : error;
      replace(output, h('h2', {}, 'Result'), errorNotice(notice), problems.length > 0 && problemList(problems, expressionFor));
    }
  }

  const form = h(
    'form',
    { class: 'card stack', onsubmit: run, 'aria-labelledby': 'tester-form-title' },
    h('h2', { id: 'tester-form-title' }, 'Sample login'),
    field('t-idp', 'Identity provider', select),
    field('t-sample', 'Login (JSON)', sample, 'SAML: {"name-id": …, "attributes": {"name": ["value", …]}}. OIDC: {"claims": {"sub": …, …}}, or just the claims.'),
    details,
    h('div', { class: 'row' }, h('button', { type: 'submit', class: 'button primary' }, 'Run dry run'), h('button', { type: 'button', class: 'button quiet', onclick: () => fill(true) }, 'Reset to example')),
  );

  replace(
    root,
    h(
      'section',
      { class: 'view', 'aria-labelledby': 'tester-title' },
      h('div', { class: 'view-head' }, h('div', {}, h('h1', { id: 'tester-title' }, 'Mapping tester'), h('p', { class: 'muted lead' }, 'See what a login would do before anyone signs in: mapped user, changes and problems. Nothing is written.'))),
      idps.length === 0 ? h('p', { class: 'card placeholder' }, 'There is no identity provider yet.') : h('div', { class: 'workbench' }, form, output),
    ),
  );
  fill(false);
  focusHeading(root);
}
