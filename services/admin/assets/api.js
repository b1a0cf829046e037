/* global sessionStorage */
/**
 * Calls to the admin API. With an admin token (kept in sessionStorage, this tab only) every call
 * carries it as a bearer header and no cookies; without one, the SSO session cookie authorizes the
 * call and the X-JIT-CSRF header shows the server that this page, not another site, sent it.
 */

export const API = '/rest/authconfig/1.0';
const TOKEN_KEY = 'jit-admin-token';

export const auth = {
  token: () => sessionStorage.getItem(TOKEN_KEY) ?? undefined,
  setToken: (token) => sessionStorage.setItem(TOKEN_KEY, token),
  forget: () => sessionStorage.removeItem(TOKEN_KEY),
};

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message ?? `The server answered ${status}`);
    this.status = status;
    this.code = body?.error;
    this.problems = Array.isArray(body?.problems) ? body.problems : [];
  }
}

let onSignedOut = () => {};
/** Called when a call answers 401: the token or session is no longer good. */
export function whenSignedOut(handler) {
  onSignedOut = handler;
}

export async function request(path, { method = 'GET', body, accept = 'application/json', probe = false } = {}) {
  const token = auth.token();
  const headers = { accept };
  if (token) headers.authorization = `Bearer ${token}`;
  else headers['x-jit-csrf'] = '1';
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: token ? 'omit' : 'same-origin',
    cache: 'no-store',
  });
  if (response.ok) return response;
  const error = new ApiError(response.status, await response.json().catch(() => undefined));
  if (response.status === 401 && !probe) onSignedOut(error);
  throw error;
}

export async function getJson(path, options) {
  return (await request(path, options)).json();
}

export async function postJson(path, body) {
  return (await request(path, { method: 'POST', body })).json();
}

/** The rel="next" target of a Link header. */
export function nextLink(header) {
  const match = /<([^>]+)>\s*;\s*rel="?next"?/.exec(header ?? '');
  return match?.[1];
}

export const userPath = (username) => `${API}/jit-users/${encodeURIComponent(username)}`;
