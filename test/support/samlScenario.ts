/**
 * A SAML login scenario for the security suites: an app with the test IdP (`okta`, signing key
 * test/fixtures/idp-test.key), a browser-like login start, responses built and signed for that
 * start, and the assertions every attack must satisfy (a 4xx error page, no user, and nothing in
 * the store but LoginRejected).
 */
import type { LightMyRequestResponse } from 'fastify';
import type { Test } from 'tap';
import type { IdpInput } from '../../schemas/types.gen.js';
import { samlIdp, TEST_IDP_CERT, TEST_IDP_KEY } from './fixtures.js';
import { beginSamlLogin, createIdp, expectLoginRejected, postSamlResponse, startGatewayApp, type GatewayApp, type SamlLoginStart } from './gatewayHarness.js';
import { buildResponseXml, signResponseXml, toBase64, type ResponseFields, type SignWhat, type SigningKey } from './samlForge.js';

export const IDP_ID = 'okta';
export const IDP_ISSUER = 'https://idp.example.com/metadata';
export const ACS_PATH = `/sso/${IDP_ID}/saml/acs`;
export const ATLASSIAN_ACS_PATH = '/plugins/servlet/samlconsumer';
export const TEST_IDP: SigningKey = { key: TEST_IDP_KEY, cert: TEST_IDP_CERT };

export type Mode = NonNullable<IdpInput['required-signatures']>;

export type SamlScenario = {
  gw: GatewayApp;
  mode: Mode;
  publicUrl: string;
  /** Our entity id and ACS URL for the IdP `okta`. */
  spEntityId: string;
  acsUrl: string;
  start(returnTo?: string): Promise<SamlLoginStart>;
  /** Fields of a correct response to `start`, with overrides. */
  fields(start: SamlLoginStart, overrides?: Partial<ResponseFields>): ResponseFields;
  /** Signs what the IdP configuration requires (or `what`). */
  sign(xml: string, what?: SignWhat, signer?: SigningKey): string;
  /** A correct, signed response to `start`. */
  response(start: SamlLoginStart, overrides?: Partial<ResponseFields>): string;
  post(xml: string, start: SamlLoginStart | undefined, options?: { path?: string; relayState?: string | null; raw?: boolean }): Promise<LightMyRequestResponse>;
  /** See expectLoginRejected. */
  expectRejected(t: Test, attack: () => Promise<LightMyRequestResponse>, code?: string | RegExp): Promise<LightMyRequestResponse>;
};

export function defaultSigning(mode: Mode): SignWhat {
  return mode;
}

export async function samlScenario(
  t: Test,
  options: { mode?: Mode; idp?: Partial<IdpInput>; env?: Record<string, string>; dataDir?: string; createIdp?: boolean } = {},
): Promise<SamlScenario> {
  const mode = options.mode ?? 'both';
  const gw = await startGatewayApp(t, { ...(options.env ? { env: options.env } : {}), ...(options.dataDir ? { dataDir: options.dataDir } : {}) });
  if (options.createIdp !== false) await createIdp(gw.app, samlIdp({ id: IDP_ID, 'required-signatures': mode, ...options.idp }));
  const { publicUrl } = gw.runtime.config;
  const acsUrl = `${publicUrl}${options.idp?.['atlassian-callback-paths'] ? ATLASSIAN_ACS_PATH : ACS_PATH}`;
  const spEntityId = options.idp?.['sp-entity-id'] ?? `${publicUrl}/sso/${IDP_ID}/saml/metadata`;
  const scenario: SamlScenario = {
    gw,
    mode,
    publicUrl,
    spEntityId,
    acsUrl,
    start: (returnTo) => beginSamlLogin(gw.app, IDP_ID, returnTo),
    fields: (start, overrides = {}) => ({
      issuer: IDP_ISSUER,
      audience: spEntityId,
      recipient: acsUrl,
      destination: acsUrl,
      inResponseTo: start.requestId,
      nameId: 'alice',
      attributes: { displayName: ['Alice Liddell'], email: ['alice@example.com'], groups: ['jira-users', 'developers'] },
      ...overrides,
    }),
    sign: (xml, what = defaultSigning(mode), signer = TEST_IDP) => signResponseXml(xml, what, signer),
    response: (start, overrides) => scenario.sign(buildResponseXml(scenario.fields(start, overrides))),
    post: (xml, start, postOptions = {}) => {
      const relayState = postOptions.relayState === null ? undefined : (postOptions.relayState ?? start?.relayState);
      const SAMLResponse = postOptions.raw ? xml : toBase64(xml);
      return postSamlResponse(gw.app, postOptions.path ?? new URL(acsUrl).pathname, { SAMLResponse, ...(relayState === undefined ? {} : { RelayState: relayState }) }, start?.jar);
    },
    expectRejected: (t, attack, code) => expectLoginRejected(t, gw, attack, code),
  };
  return scenario;
}
