/**
 * Drives the SSO gateway in-process: apps on a data dir (one or several sharing it), a cookie jar
 * for inject(), the SAML/OIDC legs as a browser would run them, and probes of what a failed login
 * left behind (no user, nothing but LoginRejected).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { Test } from 'tap';
import pino from 'pino';
import type { RawRecordedEvent } from '../../events/envelope.js';
import type { IdpInput } from '../../schemas/types.gen.js';
import { buildApp } from '../../services/api/app.js';
import type { UserListItem } from '../../services/projections/readModel.js';
import { loadConfig } from '../../services/shared/config.js';
import { startRuntime, type Runtime, type RuntimeOverrides } from '../../services/runtime.js';
import { ADMIN_TOKEN, GATEWAY_TOKEN } from './fixtures.js';

export type GatewayApp = { app: FastifyInstance; runtime: Runtime; dataDir: string; close: () => Promise<void> };

type Tap = { teardown(fn: () => unknown): void };

export const TEST_PUBLIC_URL = 'http://127.0.0.1:18080';

/** An app on `dataDir` (created when absent); several apps on one dir share the store. */
export async function startGatewayApp(t: Tap, options: { env?: Record<string, string>; dataDir?: string; overrides?: RuntimeOverrides } = {}): Promise<GatewayApp> {
  const owned = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'jit-gateway-'));
  const config = loadConfig({
    JIT_DATA_DIR: dataDir,
    JIT_ADMIN_TOKENS: ADMIN_TOKEN,
    JIT_GATEWAY_TOKENS: GATEWAY_TOKEN,
    JIT_LOG_LEVEL: 'silent',
    JIT_PUBLIC_URL: TEST_PUBLIC_URL,
    ...options.env,
  });
  const runtime = await startRuntime(config, pino({ level: 'silent' }), options.overrides);
  const app = await buildApp(runtime, { logger: false });
  await app.ready();
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await app.close();
    await runtime.close();
    if (owned) rmSync(dataDir, { recursive: true, force: true });
  };
  t.teardown(close);
  return { app, runtime, dataDir, close };
}

export async function createIdp(app: FastifyInstance, idp: IdpInput): Promise<void> {
  const res = await app.inject({ method: 'POST', url: '/rest/authconfig/1.0/idps', headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, payload: idp as object });
  if (res.statusCode !== 201) throw new Error(`creating IdP ${idp.id ?? idp.name}: ${res.statusCode} ${res.body}`);
}

/** A browser's cookies for inject(): what Set-Cookie gave, minus what it cleared. */
export class CookieJar {
  private readonly cookies = new Map<string, string>();

  /** Reads Set-Cookie as sent (values stay encoded, as a browser keeps them). */
  take(res: LightMyRequestResponse): this {
    const raw = res.headers['set-cookie'];
    for (const line of raw === undefined ? [] : Array.isArray(raw) ? raw : [raw]) {
      const [pair = '', ...attributes] = line.split(';').map((part) => part.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      const expired = value === '' || attributes.some((a) => /^max-age=0$/i.test(a) || (/^expires=/i.test(a) && Date.parse(a.slice(8)) <= Date.now()));
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return this;
  }

  has(name: string): boolean {
    return this.cookies.has(name);
  }

  header(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  headers(): Record<string, string> {
    return this.cookies.size > 0 ? { cookie: this.header() } : {};
  }
}

export type SamlLoginStart = { requestId: string; relayState: string; location: URL; authnRequestXml: string; jar: CookieJar };

/** GET /sso/{idpId}/login for a SAML IdP: the AuthnRequest the IdP would receive. */
export async function beginSamlLogin(app: FastifyInstance, idpId: string, returnTo?: string, jar = new CookieJar()): Promise<SamlLoginStart> {
  const query = returnTo === undefined ? '' : `?returnTo=${encodeURIComponent(returnTo)}`;
  const res = await app.inject({ method: 'GET', url: `/sso/${idpId}/login${query}`, headers: jar.headers() });
  if (res.statusCode !== 302) throw new Error(`login start answered ${res.statusCode}: ${res.body}`);
  jar.take(res);
  const location = new URL(String(res.headers.location));
  const encoded = location.searchParams.get('SAMLRequest');
  if (!encoded) throw new Error(`no SAMLRequest in ${location.href}`);
  const authnRequestXml = inflateRawSync(Buffer.from(encoded, 'base64')).toString('utf8');
  const requestId = /\bID="([^"]+)"/.exec(authnRequestXml)?.[1];
  if (!requestId) throw new Error('no ID in the AuthnRequest');
  return { requestId, relayState: location.searchParams.get('RelayState') ?? '', location, authnRequestXml, jar };
}

export async function postSamlResponse(
  app: FastifyInstance,
  path: string,
  form: { SAMLResponse: string; RelayState?: string },
  jar?: CookieJar,
): Promise<LightMyRequestResponse> {
  const body = new URLSearchParams(form.RelayState === undefined ? { SAMLResponse: form.SAMLResponse } : { SAMLResponse: form.SAMLResponse, RelayState: form.RelayState });
  const res = await app.inject({
    method: 'POST',
    url: path,
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(jar?.headers() ?? {}) },
    payload: body.toString(),
  });
  jar?.take(res);
  return res;
}

export async function allEvents(runtime: Runtime): Promise<RawRecordedEvent[]> {
  return runtime.store.readAll();
}

/** Events appended after `position`. */
export async function eventsAfter(runtime: Runtime, position: number): Promise<RawRecordedEvent[]> {
  return runtime.store.readAll({ after: position });
}

/** Waits for the projection, then lists every user in the read model (with groups). */
export async function usersIn(runtime: Runtime): Promise<readonly UserListItem[]> {
  const head = await runtime.store.headPosition();
  await runtime.projector?.waitFor(head);
  return (await runtime.readModel.listUsers({ start: 0, limit: 10000, withGroups: true })).users;
}

/**
 * Runs `attack` and checks what every refused login must leave: a 4xx HTML error page without
 * internals, no redirect, no session cookie, no new user, and no event but LoginRejected; with
 * `code`, the problem code (or rejection reason) recorded last.
 */
export async function expectLoginRejected(
  t: Test,
  gw: GatewayApp,
  attack: () => Promise<LightMyRequestResponse>,
  code?: string | RegExp,
): Promise<LightMyRequestResponse> {
  const position = await gw.runtime.store.headPosition();
  const usersBefore = (await usersIn(gw.runtime)).length;
  const res = await attack();
  t.ok(res.statusCode >= 400 && res.statusCode < 500, `answered ${res.statusCode} (4xx)`);
  t.match(String(res.headers['content-type']), /text\/html/, 'an error page');
  t.notMatch(res.body, /at \w+ \(|node_modules|Error:/, 'no stack trace or library internals on the page');
  t.equal(res.headers.location, undefined, 'no redirect');
  t.notOk(String(res.headers['set-cookie'] ?? '').includes('jit_session='), 'no session cookie');
  t.equal((await usersIn(gw.runtime)).length, usersBefore, 'no user created');
  const events = await eventsAfter(gw.runtime, position);
  t.same([...new Set(events.map((e) => e.type))].filter((type) => type !== 'LoginRejected'), [], 'no event but LoginRejected');
  if (code !== undefined) {
    // The problem code of a verification failure, or the reason of a provisioning rejection.
    const last = events.at(-1)?.data as { reason?: string; problems?: { code: string }[] } | undefined;
    t.match(last?.problems?.[0]?.code ?? last?.reason ?? '(no LoginRejected recorded)', code, `rejected as ${String(code)}`);
    t.match(res.body, /Code: <code>[a-z0-9-]+<\/code>/, 'the page names a problem code');
  }
  return res;
}
