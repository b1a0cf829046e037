/**
 * Drives the local Keycloak of deploy/keycloak (realm `jit`) without a browser: a cookie-keeping
 * HTTP client that follows nothing by itself, the login form, the SAML auto-POST page, and the
 * admin REST API for changing users between logins.
 */
import { X509Certificate } from 'node:crypto';

export const KEYCLOAK_URL = `http://127.0.0.1:${process.env['JIT_KEYCLOAK_PORT'] ?? '8180'}`;
export const REALM_URL = `${KEYCLOAK_URL}/realms/jit`;
export const E2E_PUBLIC_URL = (process.env['JIT_E2E_PUBLIC_URL'] ?? 'http://127.0.0.1:18080').replace(/\/+$/, '');

/** Throws (never skips) when Keycloak does not serve realm jit: the e2e suites need it. */
export async function requireKeycloak(): Promise<void> {
  const url = `${REALM_URL}/.well-known/openid-configuration`;
  let status: number | string;
  try {
    status = (await fetch(url, { signal: AbortSignal.timeout(5000) })).status;
  } catch (error) {
    status = error instanceof Error ? error.message : String(error);
  }
  if (status !== 200) {
    throw new Error(`Keycloak is not reachable at ${url} (${status}). Start it with 'make keycloak-up' (deploy/keycloak/keycloak.sh up) before running test/e2e.`);
  }
}

/** The realm's SAML signing certificate (regenerated at every Keycloak start), as PEM. */
export async function samlSigningCertificate(): Promise<string> {
  const xml = await (await fetch(`${REALM_URL}/protocol/saml/descriptor`)).text();
  const body = /<(?:\w+:)?X509Certificate>([^<]+)<\/(?:\w+:)?X509Certificate>/.exec(xml)?.[1]?.replace(/\s+/g, '');
  if (!body) throw new Error('no X509Certificate in the SAML descriptor');
  const pem = `-----BEGIN CERTIFICATE-----\n${body.match(/.{1,64}/g)?.join('\n') ?? ''}\n-----END CERTIFICATE-----\n`;
  new X509Certificate(pem);
  return pem;
}

export function decodeEntities(text: string): string {
  return text
    .replace(/&#x([0-9a-f]+);/gi, (_, hex: string) => String.fromCodePoint(parseInt(hex, 16)))
    .replace(/&#([0-9]+);/g, (_, dec: string) => String.fromCodePoint(parseInt(dec, 10)))
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

type StoredCookie = { value: string; path: string };

/**
 * A browser without a renderer: one cookie jar for 127.0.0.1 (cookies ignore ports, as in real
 * browsers), no automatic redirects so every hop can be inspected.
 */
export class Browser {
  private readonly cookies = new Map<string, StoredCookie>();

  cookieHeader(url: URL): string {
    return [...this.cookies]
      .filter(([, c]) => url.pathname.startsWith(c.path))
      .map(([name, c]) => `${name}=${c.value}`)
      .join('; ');
  }

  cookie(name: string): string | undefined {
    return this.cookies.get(name)?.value;
  }

  private remember(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';').map((p) => p.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      const path = attributes.find((a) => /^path=/i.test(a))?.slice(5) || '/';
      const expired = value === '' || attributes.some((a) => /^max-age=(0|-\d+)$/i.test(a) || (/^expires=/i.test(a) && Date.parse(a.slice(8)) <= Date.now()));
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, { value, path });
    }
  }

  async request(url: string, init: { method?: 'GET' | 'POST'; form?: Record<string, string> } = {}): Promise<Response> {
    const target = new URL(url);
    const headers: Record<string, string> = {};
    const cookie = this.cookieHeader(target);
    if (cookie) headers['cookie'] = cookie;
    let body: string | undefined;
    if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.form).toString();
    }
    const response = await fetch(target, { method: init.method ?? (init.form ? 'POST' : 'GET'), headers, redirect: 'manual', ...(body === undefined ? {} : { body }) });
    this.remember(response);
    return response;
  }
}

export function location(response: Response): string {
  const value = response.headers.get('location');
  if (!value) throw new Error(`expected a redirect, got ${response.status}`);
  return value;
}

/** The action of Keycloak's username/password form. */
export function loginFormAction(html: string): string {
  const form = /<form\b[^>]*\bid="kc-form-login"[^>]*>/.exec(html)?.[0] ?? /<form\b[^>]*login-actions\/authenticate[^>]*>/.exec(html)?.[0];
  const action = form ? /\baction="([^"]+)"/.exec(form)?.[1] : undefined;
  if (!action) throw new Error(`no Keycloak login form in the page: ${html.slice(0, 300)}`);
  return decodeEntities(action);
}

/** Keycloak's SAML auto-submit page: where it posts and what. */
export function samlPostForm(html: string): { action: string; SAMLResponse: string; RelayState: string | undefined } {
  const action = /<form\b[^>]*\baction="([^"]+)"/i.exec(html)?.[1];
  const field = (name: string) =>
    (new RegExp(`name="${name}"\\s+value="([^"]*)"`).exec(html) ?? new RegExp(`value="([^"]*)"\\s+name="${name}"`).exec(html))?.[1];
  const response = field('SAMLResponse');
  if (!action || !response) throw new Error(`no SAML auto-post form in the page: ${html.slice(0, 300)}`);
  const relay = field('RelayState');
  return { action: decodeEntities(action), SAMLResponse: decodeEntities(response), RelayState: relay === undefined ? undefined : decodeEntities(relay) };
}

/** Submits the login form shown at `loginPageUrl`; answers Keycloak's response to the POST. */
export async function submitLogin(browser: Browser, loginPageUrl: string, username: string, password: string): Promise<Response> {
  const page = await browser.request(loginPageUrl);
  if (page.status !== 200) throw new Error(`Keycloak login page answered ${page.status}`);
  return browser.request(loginFormAction(await page.text()), { form: { username, password, credentialId: '' } });
}

export type KeycloakUser = { id: string; username: string; email?: string; attributes?: Record<string, string[]> } & Record<string, unknown>;

/** The admin REST API of realm jit, as the bootstrap admin. */
export class KeycloakAdmin {
  private constructor(private readonly token: string) {}

  static async connect(): Promise<KeycloakAdmin> {
    const response = await fetch(`${KEYCLOAK_URL}/realms/master/protocol/openid-connect/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'password', client_id: 'admin-cli', username: 'admin', password: 'admin' }).toString(),
    });
    if (response.status !== 200) throw new Error(`Keycloak admin token: ${response.status} ${await response.text()}`);
    const { access_token: token } = (await response.json()) as { access_token: string };
    return new KeycloakAdmin(token);
  }

  private async call(method: 'GET' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<Response> {
    const response = await fetch(`${KEYCLOAK_URL}/admin/realms/jit${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (response.status >= 300) throw new Error(`Keycloak admin ${method} ${path}: ${response.status} ${await response.text()}`);
    return response;
  }

  async user(username: string): Promise<KeycloakUser> {
    const users = (await (await this.call('GET', `/users?exact=true&briefRepresentation=false&username=${encodeURIComponent(username)}`)).json()) as KeycloakUser[];
    const user = users.find((u) => u.username === username);
    if (!user) throw new Error(`no Keycloak user ${username}`);
    return user;
  }

  /** Changes the email: GET the full representation, change it, PUT it back (a partial PUT with attributes wipes the others). */
  async setEmail(username: string, email: string): Promise<void> {
    const user = await this.user(username);
    await this.call('PUT', `/users/${user.id}`, { ...user, email, emailVerified: true });
  }

  async groupsOf(username: string): Promise<string[]> {
    const user = await this.user(username);
    const groups = (await (await this.call('GET', `/users/${user.id}/groups`)).json()) as { name: string }[];
    return groups.map((g) => g.name).sort();
  }

  /** Makes the user's groups exactly `names` (top-level groups of the realm). */
  async setGroups(username: string, names: readonly string[]): Promise<void> {
    const user = await this.user(username);
    const all = (await (await this.call('GET', '/groups?briefRepresentation=true&max=100')).json()) as { id: string; name: string }[];
    const current = (await (await this.call('GET', `/users/${user.id}/groups`)).json()) as { id: string; name: string }[];
    for (const group of current) if (!names.includes(group.name)) await this.call('DELETE', `/users/${user.id}/groups/${group.id}`);
    for (const name of names) {
      const group = all.find((g) => g.name === name);
      if (!group) throw new Error(`no Keycloak group ${name}`);
      if (!current.some((g) => g.id === group.id)) await this.call('PUT', `/users/${user.id}/groups/${group.id}`);
    }
  }
}
