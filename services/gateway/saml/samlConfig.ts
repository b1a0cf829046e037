/**
 * node-saml, configured strictly from one IdP configuration. A SAML instance is built per request
 * (it is cheap: ~40 µs) with a cache provider bound to that request, so the outstanding AuthnRequest
 * ids live in the shared one-time-token store rather than in one process's memory.
 *
 * Why node-saml's SAML class and not @fastify/passport + passport-saml: the strategy layer adds
 * nothing we can use (no per-request session state, our own LoginRejected events and error pages,
 * synchronous provisioning), while hiding the places where this service must be stricter than
 * passport-saml's defaults — consuming InResponseTo atomically across instances, the assertion
 * replay cache, and the Issuer/Recipient/Destination checks node-saml does not make.
 */
import { X509Certificate } from 'node:crypto';
import { SAML, ValidateInResponseTo, type CacheProvider } from '@node-saml/node-saml';
import { DOMParser } from '@xmldom/xmldom';
import type { IdpStored } from '../../../schemas/types.gen.js';
import type { OneTimeTokens } from '../../shared/oneTimeTokens/oneTimeTokens.js';
import { envelopeOf, isSamlResponse, type ResponseEnvelope } from './inspectResponse.js';

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
 * For validating one response: the first InResponseTo node-saml looks up is read from the shared
 * store, later look-ups of the same id in this validation see it, and any other id is unknown.
 * Reading does not consume: the caller consumes the request once validation ends, together with
 * the assertion id when it succeeded (OneTimeTokens.consumeAndRemember, one commit) and alone when
 * it failed, so exactly one response in the whole cluster is accepted per request and a failed
 * attempt still uses the request up.
 */
export function requestLookupCache(tokens: OneTimeTokens): { cache: CacheProvider; found: () => ConsumedRequest | undefined } {
  let found: ConsumedRequest | undefined;
  let tried = false;
  const cache: CacheProvider = {
    saveAsync: async () => {
      throw new Error('a response validation never stores requests');
    },
    async getAsync(key) {
      if (tried) return found?.id === key ? found.record.createdAt : null;
      tried = true;
      const record = parseSamlRequestRecord(await tokens.peek(SAML_REQUEST_SCOPE, key));
      if (!record) return null;
      found = { id: key, record };
      return record.createdAt;
    },
    // The caller consumes the request when validation ends, whatever the outcome.
    removeAsync: async (key) => key,
  };
  return { cache, found: () => found };
}

export type SamlMode = NonNullable<IdpStored['required-signatures']>;

export function samlMode(idp: IdpStored): SamlMode {
  return idp['required-signatures'] ?? 'both';
}

/**
 * node-saml's SAML class, unchanged but for one thing: when the Response's signature verified,
 * node-saml hands its signed (canonical) XML to getSignedAssertion, which parses it to find the
 * Assertion. This override does that parse exactly as node-saml 5.1 does (same parser, the single
 * Assertion child by local name, serialized with toString) and also keeps the Response's
 * Destination and top-level status from it: read from what the signature covers rather than from a
 * second parse of the posted document. Every other case goes to node-saml's own implementation.
 */
export class GatewaySaml extends SAML {
  #signedEnvelope: ResponseEnvelope | undefined;

  /** Destination and status of the samlp:Response whose signature verified; undefined when the Response was not signed. */
  get signedEnvelope(): ResponseEnvelope | undefined {
    return this.#signedEnvelope;
  }

  protected override async getSignedAssertion(signedXml: string): Promise<string | null> {
    const root = parseSignedXml(signedXml).documentElement;
    if (root?.localName === 'Response') {
      const assertions = childElements(root, 'Assertion');
      if (assertions.length === 1) {
        if (isSamlResponse(root)) this.#signedEnvelope = envelopeOf(root);
        return assertions[0]!.toString();
      }
    } else if (root?.localName === 'Assertion') {
      return root.toString();
    }
    return super.getSignedAssertion(signedXml);
  }
}

/** As node-saml's parseDomFromString (without its locator, which only adds positions to messages): any error refuses the document. */
function parseSignedXml(xml: string): Document {
  let error: string | undefined;
  const fail = (message: string) => {
    error ??= message;
  };
  const doc = new DOMParser({ errorHandler: { error: fail, fatalError: fail } }).parseFromString(xml, 'text/xml');
  if (error !== undefined) throw new Error(error);
  if (!Object.prototype.hasOwnProperty.call(doc, 'documentElement')) throw new Error('Not a valid XML document');
  return doc;
}

/** `./*[local-name()='…']`: element children by local name, in any namespace. */
function childElements(parent: Element, localName: string): Element[] {
  const found: Element[] = [];
  for (let node = parent.firstChild; node; node = node.nextSibling) {
    if (node.nodeType === 1 && (node as Element).localName === localName) found.push(node as Element);
  }
  return found;
}

/**
 * What node-saml is given as idpCert: for a single RSA certificate, its public key as a PKCS#1 PEM
 * (the key the certificate carries, and all xml-crypto takes from it). OpenSSL 3 decodes a PKCS#1
 * key several times faster than an X.509 certificate, and xml-crypto decodes the PEM it is given
 * at every signature check (~0.25 ms each). Anything else is passed through unchanged. Cached by the
 * certificate text, so a changed IdP configuration gets its own entry.
 */
export function verificationKey(certificate: string): string {
  let key = verificationKeys.get(certificate);
  if (key === undefined) {
    key = rsaPublicKeyPem(certificate) ?? certificate;
    if (verificationKeys.size >= MAX_VERIFICATION_KEYS) verificationKeys.clear();
    verificationKeys.set(certificate, key);
  }
  return key;
}

const MAX_VERIFICATION_KEYS = 256;
const verificationKeys = new Map<string, string>();

function rsaPublicKeyPem(certificate: string): string | undefined {
  // One certificate, as PEM or bare base64 DER (what the IdP validation accepts); a bundle or any
  // other text is left to node-saml as it was.
  if ((certificate.match(/-----BEGIN /g) ?? []).length > 1) return undefined;
  const body = certificate.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body)) return undefined;
  try {
    const publicKey = new X509Certificate(Buffer.from(body, 'base64')).publicKey;
    return publicKey.asymmetricKeyType === 'rsa' ? publicKey.export({ type: 'pkcs1', format: 'pem' }).toString() : undefined;
  } catch {
    return undefined;
  }
}

export function samlFor(idp: IdpStored, publicUrl: string, cacheProvider: CacheProvider, requestId?: string): GatewaySaml {
  const mode = samlMode(idp);
  const spEntityId = samlSpEntityId(idp, publicUrl);
  if (!idp.certificate) throw new TypeError(`SAML IdP ${idp.id} has no certificate`);
  return new GatewaySaml({
    entryPoint: idp['sso-url'],
    issuer: spEntityId,
    audience: spEntityId,
    callbackUrl: samlAcsUrl(idp, publicUrl),
    // Pinned: only this key is trusted, never a certificate carried in the response's KeyInfo.
    idpCert: verificationKey(idp.certificate),
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
