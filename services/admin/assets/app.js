/* global document, window */
/**
 * The admin page: sign-in (an admin token, or "Sign in with …" through the SSO gateway), then
 * the users, a user's timeline, the mapping tester and impact analysis, one view per address
 * (#/users, #/users/<name>, #/tester, #/impact) so Back, reload and links behave as expected.
 */
import { API, auth, getJson, whenSignedOut } from './api.js';
import { $, h, replace } from './dom.js';
import { renderImpactView } from './impact.js';
import { renderTester } from './tester.js';
import { renderUserDetail } from './userDetail.js';
import { renderUsers } from './users.js';

const ctx = { idps: [], lastList: '#/users', via: undefined };
const view = $('#view');

/** "Sign in with …" links for the enabled IdPs (none when this instance runs no gateway). */
async function showSsoButtons() {
  const buttons = $('#sso-buttons');
  let idps = [];
  try {
    const response = await fetch('/sso/idps', { headers: { accept: 'application/json' } });
    if (response.ok) idps = await response.json();
  } catch {
    // No gateway here: the token form is the way in.
  }
  const returnTo = encodeURIComponent('/admin');
  replace(buttons, idps.map((idp) => h('a', { class: 'button sso', href: `/sso/${encodeURIComponent(idp.id)}/login?returnTo=${returnTo}` }, idp['button-text'])));
  $('#sso-divider').hidden = idps.length === 0;
}

async function ssoSession() {
  try {
    const response = await fetch('/sso/session', { headers: { accept: 'application/json' }, credentials: 'same-origin', cache: 'no-store' });
    return response.ok ? await response.json() : undefined;
  } catch {
    return undefined;
  }
}

function showLogin(notice, { signedInAs } = {}) {
  $('#booting').hidden = true;
  $('#topbar').hidden = true;
  view.hidden = true;
  $('#login').hidden = false;
  document.title = 'Sign in · JIT provisioning';
  const box = $('#login-notice');
  box.hidden = !notice;
  replace(
    box,
    notice && h('p', {}, notice),
    signedInAs && h('div', {}, h('button', { type: 'button', class: 'button', onclick: signOut }, `Sign out ${signedInAs}`)),
  );
  showSsoButtons();
  $('#token').focus();
}

/** Whether the token or the SSO session may use the admin API; loads the IdPs on the way. */
async function enter() {
  const token = auth.token();
  try {
    ctx.idps = (await getJson(`${API}/idps?limit=-1`, { probe: true })).results;
  } catch (error) {
    if (token) {
      auth.forget();
      return { ok: false, notice: error.status === 401 ? 'That admin token was not accepted.' : error.message };
    }
    if (error.status === 401) return { ok: false };
    const session = await ssoSession();
    return { ok: false, notice: error.message, signedInAs: session?.username };
  }
  if (token) {
    ctx.via = 'token';
    $('#who').textContent = 'Signed in with an admin token';
  } else {
    const session = await ssoSession();
    ctx.via = 'sso';
    replace($('#who'), 'Signed in as ', h('strong', {}, session?.['display-name'] || session?.username || 'an administrator'));
  }
  return { ok: true };
}

async function start(notice) {
  const entered = await enter();
  if (!entered.ok) return showLogin(entered.notice ?? notice, entered);
  $('#booting').hidden = true;
  $('#login').hidden = true;
  $('#topbar').hidden = false;
  view.hidden = false;
  route();
}

async function signOut() {
  if (auth.token()) auth.forget();
  else await fetch('/sso/logout', { method: 'POST', credentials: 'same-origin' }).catch(() => undefined);
  ctx.via = undefined;
  window.location.hash = '';
  showLogin('You are signed out.');
}

function safeDecode(text) {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function route() {
  if (!ctx.via) return;
  const [path, query = ''] = window.location.hash.replace(/^#/, '').split('?');
  const params = new URLSearchParams(query);
  const detail = /^\/users\/(.+)$/.exec(path);
  const section = detail ? 'users' : path === '/tester' ? 'tester' : path === '/impact' ? 'impact' : 'users';
  for (const link of document.querySelectorAll('[data-nav]')) {
    if (link.dataset.nav === section) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  const titles = { users: 'Users', tester: 'Mapping tester', impact: 'Impact analysis' };
  document.title = `${titles[section]} · JIT provisioning`;
  if (detail) return renderUserDetail(view, ctx, safeDecode(detail[1]));
  if (section === 'tester') return renderTester(view, ctx);
  if (section === 'impact') return renderImpactView(view, ctx);
  return renderUsers(view, ctx, params);
}

$('#token-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const token = $('#token').value.trim();
  if (!token) {
    showLogin('Paste an admin token first.');
    return;
  }
  auth.setToken(token);
  $('#token').value = '';
  await start();
});
$('#sign-out').addEventListener('click', signOut);
window.addEventListener('hashchange', route);
whenSignedOut(() => {
  auth.forget();
  ctx.via = undefined;
  showLogin('Your sign-in has ended. Sign in again to continue.');
});

start();
