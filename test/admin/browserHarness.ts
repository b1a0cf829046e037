/**
 * What the admin page's browser test needs: a listening app with two IdPs and 30 users (each
 * provisioned by a real POST /rest/jit/1.0/logins), headless Chromium from Debian's package, a
 * stand-in SAML IdP that answers the gateway's AuthnRequest with a signed response, and a poll.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateRawSync } from 'node:zlib';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { LoginSucceeded } from '../../schemas/types.gen.js';
import { GATEWAY_TOKEN, oidcIdp, oidcLogin, samlIdp, samlLogin } from '../support/fixtures.js';
import { createIdp, startGatewayApp, type GatewayApp } from '../support/gatewayHarness.js';
import { buildResponseXml, signResponseXml, toBase64 } from '../support/samlForge.js';
import { IDP_ISSUER, TEST_IDP } from '../support/samlScenario.js';

export const CHROMIUM = '/usr/bin/chromium';
export const ADMIN_GROUP = 'jit-admins';
export const DOCS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs');
/** The stand-in IdP's single sign-on URL; the browser never reaches a real host there. */
const IDP_SSO_URL = 'http://idp.example.test/sso/saml';

type Tap = { teardown(fn: () => unknown): void };

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export type PageApp = GatewayApp & { base: string };

/** An app listening on 127.0.0.1, its public URL that address, JIT_ADMIN_GROUPS=jit-admins. */
export async function startListeningApp(t: Tap): Promise<PageApp> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const gw = await startGatewayApp(t, { env: { JIT_PUBLIC_URL: base, JIT_ADMIN_GROUPS: ADMIN_GROUP } });
  await gw.app.listen({ host: '127.0.0.1', port });
  await createIdp(gw.app, samlIdp({ id: 'okta', name: 'Okta', 'button-text': 'Sign in with Okta', 'sso-url': IDP_SSO_URL }));
  await createIdp(gw.app, oidcIdp({ id: 'entra', name: 'Entra ID' }));
  return { ...gw, base };
}

export const SAML_PEOPLE = [
  'ada.lovelace', 'grace.hopper', 'margaret.hamilton', 'alan.turing', 'katherine.johnson', 'edsger.dijkstra',
  'barbara.liskov', 'donald.knuth', 'frances.allen', 'john.backus', 'radia.perlman', 'ken.thompson',
  'dennis.ritchie', 'hedy.lamarr', 'tim.berners-lee', 'annie.easley', 'claude.shannon', 'leslie.lamport',
  'shafi.goldwasser', 'vint.cerf', 'adele.goldberg', 'niklaus.wirth', 'sophie.wilson', 'jean.sammet',
];
export const OIDC_PEOPLE = ['linus.torvalds', 'guido.rossum', 'yukihiro.matsumoto', 'bjarne.stroustrup', 'james.gosling', 'anders.hejlsberg'];
/** Last signed in four months ago: what "no sign-in since" finds. */
export const DORMANT = ['john.backus', 'niklaus.wirth', 'jean.sammet', 'claude.shannon', 'frances.allen'];
export const DEVELOPERS = SAML_PEOPLE.filter((_, i) => i % 3 === 1);

export const displayName = (username: string) =>
  username
    .split(/[.-]/)
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join(' ');

export function groupsOf(username: string): string[] {
  return ['jira-users', ...(DEVELOPERS.includes(username) ? ['developers'] : []), ...(username === 'margaret.hamilton' ? [ADMIN_GROUP] : [])];
}

/** Hedy's IdP sends markup in her name: the page must show it as text and run none of it. */
export const MARKUP_NAME = 'Hedy <b>Lamarr</b><img src=x onerror="window.__xss = 1">';

export function samlAttributes(username: string, groups = groupsOf(username)): Record<string, string[]> {
  const name = username === 'hedy.lamarr' ? MARKUP_NAME : displayName(username);
  return { displayName: [name], email: [`${username}@example.com`], groups };
}

/** Each login goes through the HTTP intake, as an external gateway would send it. */
export async function submitLogin(base: string, login: LoginSucceeded): Promise<void> {
  const res = await fetch(`${base}/rest/jit/1.0/logins`, {
    method: 'POST',
    headers: { authorization: `Bearer ${GATEWAY_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(login),
  });
  if (res.status !== 200) throw new Error(`login of ${login.subject}: ${res.status} ${await res.text()}`);
}

export async function seedPeople(base: string): Promise<void> {
  const dormantAt = new Date(Date.now() - 120 * 86_400_000).toISOString();
  for (const username of SAML_PEOPLE) {
    const at = DORMANT.includes(username) ? { authenticatedAt: dormantAt } : {};
    await submitLogin(base, samlLogin(username, samlAttributes(username), at));
  }
  for (const username of OIDC_PEOPLE) {
    await submitLogin(base, oidcLogin(username, { name: displayName(username), groups: ['jira-users', 'staff'] }));
  }
}

/** Headless Chromium from /usr/bin/chromium with a fresh profile; missing Chromium fails the test. */
export async function launchChromium(t: Tap): Promise<BrowserContext> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is missing at ${CHROMIUM}: install it with "apt-get install -y chromium" (scripts/test.sh does)`);
  }
  const profile = mkdtempSync(join(tmpdir(), 'jit-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1360, height: 860 },
    acceptDownloads: true,
    colorScheme: 'light',
    locale: 'en-GB',
    timezoneId: 'UTC',
  });
  t.teardown(async () => {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  });
  return context;
}

/**
 * The stand-in IdP: answers the gateway's redirect with a page whose form posts a response signed
 * by the test IdP key for that very AuthnRequest, as `nameId` with `attributes`.
 */
export async function actAsSamlIdp(context: BrowserContext, app: PageApp, person: () => { nameId: string; attributes: Record<string, string[]> }): Promise<void> {
  await context.route(`${new URL(IDP_SSO_URL).origin}/**`, async (route) => {
    const url = new URL(route.request().url());
    const xml = inflateRawSync(Buffer.from(url.searchParams.get('SAMLRequest') ?? '', 'base64')).toString('utf8');
    const requestId = /\bID="([^"]+)"/.exec(xml)?.[1] ?? '';
    const acs = `${app.base}/sso/okta/saml/acs`;
    const { nameId, attributes } = person();
    const response = signResponseXml(
      buildResponseXml({ issuer: IDP_ISSUER, audience: `${app.base}/sso/okta/saml/metadata`, recipient: acs, destination: acs, inResponseTo: requestId, nameId, attributes }),
      'both',
      TEST_IDP,
    );
    const relayState = url.searchParams.get('RelayState') ?? '';
    const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
    await route.fulfill({
      contentType: 'text/html',
      body: `<!doctype html><title>Test IdP</title><form method="post" action="${escape(acs)}"><input type="hidden" name="SAMLResponse" value="${escape(toBase64(response))}"><input type="hidden" name="RelayState" value="${escape(relayState)}"><button>Continue as ${escape(nameId)}</button></form>`,
    });
  });
}

/** Polls `check` until it holds; fails with `what` and the last value seen. */
export async function until<T>(what: string, read: () => Promise<T>, check: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!check(value)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last saw ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    value = await read();
  }
  return value;
}

/** The users table's first-column texts once it has settled. */
export async function tableUsernames(page: Page): Promise<string[]> {
  await page.locator('table[aria-busy="false"]').first().waitFor();
  return page.locator('tbody tr td:first-child a').allTextContents();
}

export function screenshotPath(name: string): string {
  mkdirSync(DOCS_DIR, { recursive: true });
  return join(DOCS_DIR, name);
}
