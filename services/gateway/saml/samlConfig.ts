/**
 * node-saml, configured strictly from one IdP configuration. A SAML instance is built per request
 * (it is cheap) with a cache provider bound to that request, so the outstanding AuthnRequest ids
 * live in the shared one-time-token store rather than in one process's memory.
 *
 * Why node-saml's SAML class and not @fastify/passport + passport-saml: the strategy layer adds
 * nothing we can use (no per-request session state, our own LoginRejected events and error pages,
 * synchronous provisioning), while hiding the places where this service must be stricter than
 * passport-saml's defaults — consuming InResponseTo atomically across instances, the assertion
 * replay cache, and the Issuer/Recipient/Destination checks node-saml does not make.
 */
import { SAML, ValidateInResponseTo, type CacheProvider } from '@node-saml/node-saml';
import type { IdpStored } from '../../../schemas/types.gen.js';
import type { OneTimeTokens } from '../../shared/oneTimeTokens/oneTimeTokens.js';

export const SAML_REQUEST_SCOPE = 'saml-request';
export const SAML_ASSERTION_SCOPE = 'saml-assertion';
/** How long a user may take at the IdP before the AuthnRequest id is forgotten. */
export const SAML_REQUEST_TTL_MS = 10 * 60_000;
const DEFAULT_CLOCK_SKEW_SECONDS = 60;

export const ATLASSIAN_SAML_CONSUMER_PATH = '/plugins/servlet/samlconsumer';
export const samlAcsPath = (idpId: string): string => `/sso/${idpId}/saml/acs`;

/** Where the IdP is asked to post its response. */
export function samlAcsUrl(idp: IdpStored, publicUrl: string): string {
  return `${publicUrl}${idp['atlassian-callback-paths'] ? ATLASSIAN_SAML_CONSUMER_PATH : samlAcsPath(idp.id)}`;
}

/** Our entity id: the AuthnRequest Issuer and the Audience we require. */
export function samlSpEntityId(idp: IdpStored, publicUrl: string): string {
  return idp['sp-entity-id'] || `${publicUrl}/sso/${idp.id}/saml/metadata`;
}

export function samlClockSkewMs(idp: IdpStored): number {
  return (idp['clock-skew-seconds'] ?? DEFAULT_CLOCK_SKEW_SECONDS) * 1000;
}

/** What the service remembers about an AuthnRequest it issued, keyed by the request id. */
export type SamlRequestRecord = Readonly<{
  idpId: string;
  returnTo: string;
  /** node-saml's timestamp of the request (ISO), checked against requestIdExpirationPeriodMs. */
  createdAt: string;
  /** SHA-256 of the browser-binding cookie value; absent when the flow is not bound (http). */
  binding?: string;
}>;

export function parseSamlRequestRecord(raw: string | undefined): SamlRequestRecord | undefined {
  if (raw === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const r = value as Record<string, unknown>;
  const ok =
    typeof r['idpId'] === 'string' &&
    typeof r['returnTo'] === 'string' &&
    typeof r['createdAt'] === 'string' &&
    (r['binding'] === undefined || typeof r['binding'] === 'string');
  return ok ? (value as SamlRequestRecord) : undefined;
}

/** Stores the AuthnRequest node-saml generates (it calls saveAsync with the id and its instant). */
export function rememberingCache(tokens: OneTimeTokens, now: () => Date, record: Omit<SamlRequestRecord, 'createdAt'>): CacheProvider {
  return {
    async saveAsync(key, value) {
      const full: SamlRequestRecord = { ...record, createdAt: value };
      const stored = await tokens.remember(SAML_REQUEST_SCOPE, key, new Date(now().getTime() + SAML_REQUEST_TTL_MS), JSON.stringify(full));
      if (!stored) throw new Error('AuthnRequest id collision');
      return { value, createdAt: now().getTime() };
    },
    getAsync: async () => null,
    removeAsync: async (key) => key,
  };
}

export type ConsumedRequest = { id: string; record: SamlRequestRecord };

/**
 * For validating one response: the first InResponseTo node-saml looks up is consumed from the
 * shared store (exactly one caller in the whole cluster gets it), later look-ups of the same id
 * in this validation see it, and any other id is unknown.
 */
export function consumingCache(tokens: OneTimeTokens): { cache: CacheProvider; consumed: () => ConsumedRequest | undefined } {
  let consumed: ConsumedRequest | undefined;
  let tried = false;
  const cache: CacheProvider = {
    saveAsync: async () => {
      throw new Error('a response validation never stores requests');
    },
    async getAsync(key) {
      if (tried) return consumed?.id === key ? consumed.record.createdAt : null;
      tried = true;
      const record = parseSamlRequestRecord(await tokens.consume(SAML_REQUEST_SCOPE, key));
      if (!record) return null;
      consumed = { id: key, record };
      return record.createdAt;
    },
    // Already consumed on the first look-up, whatever the outcome.
    removeAsync: async (key) => key,
  };
  return { cache, consumed: () => consumed };
}

export type SamlMode = NonNullable<IdpStored['required-signatures']>;

export function samlMode(idp: IdpStored): SamlMode {
  return idp['required-signatures'] ?? 'both';
}

export function samlFor(idp: IdpStored, publicUrl: string, cacheProvider: CacheProvider, requestId?: string): SAML {
  const mode = samlMode(idp);
  const spEntityId = samlSpEntityId(idp, publicUrl);
  if (!idp.certificate) throw new TypeError(`SAML IdP ${idp.id} has no certificate`);
  return new SAML({
    entryPoint: idp['sso-url'],
    issuer: spEntityId,
    audience: spEntityId,
    callbackUrl: samlAcsUrl(idp, publicUrl),
    // Pinned: only this key is trusted, never a certificate carried in the response's KeyInfo.
    idpCert: idp.certificate,
    idpIssuer: idp['sso-issuer'],
    wantAuthnResponseSigned: mode !== 'assertion',
    wantAssertionsSigned: mode !== 'response',
    acceptedClockSkewMs: samlClockSkewMs(idp),
    validateInResponseTo: ValidateInResponseTo.always,
    requestIdExpirationPeriodMs: SAML_REQUEST_TTL_MS,
    cacheProvider,
    // Asking for PasswordProtectedTransport with comparison "exact" makes IdPs that used MFA or
    // Kerberos refuse the request (Entra ID, ADFS); the IdP decides how users authenticate.
    disableRequestedAuthnContext: true,
    identifierFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
    signatureAlgorithm: 'sha256',
    digestAlgorithm: 'sha256',
    ...(requestId === undefined ? {} : { generateUniqueId: () => requestId }),
  });
}
