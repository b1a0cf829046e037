/* global document, history, Blob */
/**
 * The users table: search and filters (kept in the address, so a view can be shared or reloaded),
 * paging by the API's Link header, and the CSV of everything that matches.
 */
import { API, nextLink, request } from './api.js';
import { debounce, errorNotice, field, focusHeading, h, options, replace, toast } from './dom.js';
import { plural, timeEl } from './format.js';

const FILTERS = ['q', 'idp', 'active', 'group', 'inactive-since'];
const PAGE_SIZES = ['25', '50', '100'];

/** The API query for the filters (inactive-since is a date: nobody signed in since its start). */
function apiQuery(filters, limit) {
  const query = new URLSearchParams({ limit: String(limit) });
  for (const name of ['q', 'idp', 'active', 'group']) if (filters[name]) query.set(name, filters[name]);
  if (filters['inactive-since']) query.set('last-login-before', `${filters['inactive-since']}T00:00:00Z`);
  return query;
}

export function listHash(filters) {
  const query = new URLSearchParams();
  for (const name of [...FILTERS, 'limit']) if (filters[name]) query.set(name, filters[name]);
  const text = query.toString();
  return `#/users${text ? `?${text}` : ''}`;
}

function userRow(user, idpNames) {
  return h(
    'tr',
    {},
    h('td', {}, h('a', { href: `#/users/${encodeURIComponent(user.username)}` }, user.username)),
    h('td', {}, user['display-name']),
    h('td', { class: 'email', title: user.email }, user.email),
    h('td', { title: user['idp-id'] }, idpNames.get(user['idp-id']) ?? user['idp-id']),
    h('td', {}, user.active ? h('span', { class: 'badge ok' }, 'Active') : h('span', { class: 'badge bad' }, 'Deactivated')),
    h('td', {}, timeEl(user['provisioned-at'])),
    h('td', {}, timeEl(user['last-login-at'], 'relative')),
  );
}

async function downloadCsv(filters, button) {
  button.disabled = true;
  try {
    // Every matching user, page after page, as one file (the header line once).
    let url = `${API}/jit-users?${apiQuery(filters, 10000)}`;
    const parts = [];
    while (url) {
      const response = await request(url, { accept: 'text/csv' });
      const text = await response.text();
      parts.push(parts.length === 0 ? text : text.slice(text.indexOf('\n') + 1));
      url = nextLink(response.headers.get('link'));
    }
    const href = URL.createObjectURL(new Blob(parts, { type: 'text/csv' }));
    const link = h('a', { href, download: `jit-users-${new Date().toISOString().slice(0, 10)}.csv`, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(href), 10_000);
    toast('CSV downloaded');
  } catch (error) {
    toast(`The CSV could not be made: ${error.message}`);
  } finally {
    button.disabled = false;
  }
}

export function renderUsers(root, ctx, params) {
  const filters = Object.fromEntries([...FILTERS, 'limit'].map((name) => [name, params.get(name) ?? '']));
  const limit = PAGE_SIZES.includes(filters.limit) ? Number(filters.limit) : 25;
  const idpNames = new Map(ctx.idps.map((idp) => [idp.id, idp.name]));
  let pages = [`${API}/jit-users?${apiQuery(filters, limit)}`];
  let sequence = 0;

  const count = h('p', { class: 'muted lead', 'aria-live': 'polite' }, '');
  const csvButton = h('button', { type: 'button', class: 'button', onclick: () => downloadCsv(filters, csvButton) }, 'Download CSV');
  const body = h('tbody');
  const table = h(
    'table',
    { 'aria-busy': 'true' },
    h('caption', { class: 'visually-hidden' }, 'JIT users'),
    h('thead', {}, h('tr', {}, ['Username', 'Display name', 'Email', 'IdP', 'Status', 'Provisioned', 'Last login'].map((t) => h('th', { scope: 'col' }, t)))),
    body,
  );
  const range = h('span', { class: 'range' });
  const previous = h('button', { type: 'button', class: 'button', onclick: () => go(pages.length - 2) }, '← Previous');
  const next = h('button', { type: 'button', class: 'button', onclick: () => go(pages.length) }, 'Next →');
  const sizeSelect = h('select', { 'aria-label': 'Users per page', onchange: () => apply({ limit: sizeSelect.value }) }, options(PAGE_SIZES.map((s) => [s, `${s} per page`]), String(limit)));
  const problem = h('div');
  let nextUrl;

  const form = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Filter users', onsubmit: (e) => e.preventDefault() },
    h('div', { class: 'field-q' }, field('f-q', 'Search', h('input', { type: 'search', name: 'q', value: filters.q, placeholder: 'Username, name or email', autocomplete: 'off' }))),
    field('f-idp', 'Identity provider', h('select', { name: 'idp' }, options([['', 'All'], ...ctx.idps.map((i) => [i.id, i.name])], filters.idp))),
    field('f-active', 'Status', h('select', { name: 'active' }, options([['', 'Any'], ['true', 'Active'], ['false', 'Deactivated']], filters.active))),
    field('f-group', 'Group', h('input', { name: 'group', value: filters.group, autocomplete: 'off', placeholder: 'e.g. jira-users' })),
    field('f-inactive', 'No sign-in since', h('input', { type: 'date', name: 'inactive-since', value: filters['inactive-since'] })),
    h('button', { type: 'button', class: 'button quiet', onclick: () => clear() }, 'Clear'),
  );
  const readForm = () => Object.fromEntries(FILTERS.map((name) => [name, form.elements[name].value.trim()]));
  // Text filters apply as one types (debounced); lists and dates when a value is chosen.
  const typed = (e) => e.target.name === 'q' || e.target.name === 'group';
  form.addEventListener('input', debounce((e) => typed(e) && apply(readForm()), 250));
  form.addEventListener('change', (e) => !typed(e) && apply(readForm()));

  function clear() {
    for (const name of FILTERS) form.elements[name].value = '';
    apply(readForm());
  }

  /** New filters: a new address (replacing this one, so Back leaves the page) and page one. */
  function apply(changes) {
    Object.assign(filters, changes);
    history.replaceState(null, '', listHash(filters));
    ctx.lastList = listHash(filters);
    const size = PAGE_SIZES.includes(filters.limit) ? Number(filters.limit) : 25;
    pages = [`${API}/jit-users?${apiQuery(filters, size)}`];
    load(0);
  }

  function go(index) {
    if (index < 0) return;
    if (index === pages.length) {
      if (!nextUrl) return;
      pages.push(nextUrl);
    }
    pages = pages.slice(0, index + 1);
    load(index);
  }

  async function load(index) {
    const mine = ++sequence;
    table.setAttribute('aria-busy', 'true');
    try {
      const response = await request(pages[index]);
      const users = await response.json();
      if (mine !== sequence) return;
      const total = Number(response.headers.get('x-total-count') ?? users.length);
      const start = Number(new URL(pages[index], document.baseURI).searchParams.get('start') ?? 0);
      nextUrl = nextLink(response.headers.get('link'));
      replace(body, users.length > 0 ? users.map((u) => userRow(u, idpNames)) : h('tr', {}, h('td', { colspan: 7, class: 'empty' }, 'No users match these filters.')));
      count.textContent = `${plural(total, 'user')}${FILTERS.some((n) => filters[n]) ? ' match these filters' : ' provisioned just in time'}`;
      range.textContent = users.length > 0 ? `${(start + 1).toLocaleString()}–${(start + users.length).toLocaleString()} of ${total.toLocaleString()}` : '';
      previous.disabled = index === 0;
      next.disabled = !nextUrl;
      replace(problem);
    } catch (error) {
      if (mine === sequence) replace(problem, errorNotice(error));
    } finally {
      if (mine === sequence) table.setAttribute('aria-busy', 'false');
    }
  }

  ctx.lastList = listHash(filters);
  replace(
    root,
    h(
      'section',
      { class: 'view', 'aria-labelledby': 'users-title' },
      h('div', { class: 'view-head' }, h('div', {}, h('h1', { id: 'users-title' }, 'Users'), count), csvButton),
      form,
      problem,
      h('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': 'Users table' }, table),
      h('nav', { class: 'pager', 'aria-label': 'Pages' }, range, h('div', { class: 'pages' }, sizeSelect, previous, next)),
    ),
  );
  focusHeading(root);
  load(0);
}
