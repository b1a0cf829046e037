/**
 * An OIDC login scenario for the security suite: the token server, an app with the IdP `entra`
 * pointing at it, and the browser legs (login start → authorization endpoint → callback).
 */
import type { LightMyRequestResponse } from 'fastify';
import type { Test } from 'tap';
import type { IdpInput } from '../../schemas/types.gen.js';
import { oidcIdp } from './fixtures.js';
import { CookieJar, createIdp, expectLoginRejected, startGatewayApp, type GatewayApp } from './gatewayHarness.js';
import { CLIENT_ID, CLIENT_SECRET, startTokenServer, type TokenServer } from './oidcTokenServer.js';

export const OIDC_IDP_ID = 'entra';

export type OidcLegs = { jar: CookieJar; authorizeUrl: URL; callbackUrl: URL };

export type OidcScenario = {
  gw: GatewayApp;
  server: TokenServer;
  /** Starts a login and lets the token server answer: the callback URL the browser would follow. */
  start(options?: { idpId?: string; returnTo?: string; jar?: CookieJar }): Promise<OidcLegs>;
  /** The browser arriving at the callback (path and query of `url`) with its cookies. */
  callback(url: URL | string, jar: CookieJar): Promise<LightMyRequestResponse>;
  /** start + callback. */
  login(options?: { idpId?: string; returnTo?: string }): Promise<{ legs: OidcLegs; res: LightMyRequestResponse }>;
  expectRejected(t: Test, attack: () => Promise<LightMyRequestResponse>, code?: string | RegExp): Promise<LightMyRequestResponse>;
};

export function oidcTestIdp(server: TokenServer, overrides: Partial<IdpInput> = {}, jit: IdpInput['jit-configuration'] = {}): IdpInput {
  return oidcIdp({ id: OIDC_IDP_ID, 'issuer-url': server.issuer, 'client-id': CLIENT_ID, 'client-secret': CLIENT_SECRET, 'allow-insecure-http': true, ...overrides }, jit);
}

export async function oidcScenario(
  t: Test,
  options: { idp?: Partial<IdpInput> | ((server: TokenServer) => Partial<IdpInput>); jit?: IdpInput['jit-configuration']; env?: Record<string, string> } = {},
): Promise<OidcScenario> {
  const server = await startTokenServer();
  t.teardown(server.close);
  const gw = await startGatewayApp(t, options.env ? { env: options.env } : {});
  const overrides = typeof options.idp === 'function' ? options.idp(server) : options.idp;
  await createIdp(gw.app, oidcTestIdp(server, overrides, options.jit));
  const scenario: OidcScenario = {
    gw,
    server,
    async start({ idpId = OIDC_IDP_ID, returnTo, jar = new CookieJar() } = {}) {
      const query = returnTo === undefined ? '' : `?returnTo=${encodeURIComponent(returnTo)}`;
      const res = await gw.app.inject({ method: 'GET', url: `/sso/${idpId}/login${query}`, headers: jar.headers() });
      if (res.statusCode !== 302) throw new Error(`login start answered ${res.statusCode}: ${res.body.slice(0, 300)}`);
      jar.take(res);
      const authorizeUrl = new URL(String(res.headers.location));
      const atIdp = await fetch(authorizeUrl, { redirect: 'manual' });
      const back = atIdp.headers.get('location');
      if (atIdp.status !== 302 || !back) throw new Error(`authorization endpoint answered ${atIdp.status}: ${await atIdp.text()}`);
      return { jar, authorizeUrl, callbackUrl: new URL(back) };
    },
    async callback(url, jar) {
      const target = new URL(url);
      const res = await gw.app.inject({ method: 'GET', url: `${target.pathname}${target.search}`, headers: jar.headers() });
      jar.take(res);
      return res;
    },
    async login(loginOptions = {}) {
      const legs = await scenario.start(loginOptions);
      return { legs, res: await scenario.callback(legs.callbackUrl, legs.jar) };
    },
    expectRejected: (t, attack, code) => expectLoginRejected(t, gw, attack, code),
  };
  return scenario;
}
