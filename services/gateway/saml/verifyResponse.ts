/**
 * Verifies a SAML Response for one IdP and turns it into a LoginSucceeded. node-saml (≥ 5.1)
 * checks the signatures (pinned certificate, which parts per required-signatures), the time
 * conditions, the audience and InResponseTo, and hands back only what was signed; this module adds
 * what node-saml leaves to the SP: Issuer, Recipient, Destination, the binding of the signed
 * assertion to our request, the replay cache, and a sane NameID. Every value used comes from the
 * signed assertion (`profile` and `getAssertion()`), never from the posted document.
 */
import type { Profile } from '@node-saml/node-saml';
import { SamlStatusError } from '@node-saml/node-saml';
import type { IdpStored, LoginSucceeded } from '../../../schemas/types.gen.js';
import type { Runtime } from '../../runtime.js';
import { invalidLogin } from '../rejections.js';
import { responseEnvelope, type PostedResponse, type ResponseEnvelope } from './inspectResponse.js';
import { signedAssertionFacts, type AssertionFacts } from './signedAssertion.js';
import { requestLookupCache, samlClockSkewMs, samlFor, samlMode, SAML_ASSERTION_SCOPE, SAML_REQUEST_SCOPE, type ConsumedRequest, type SamlRequestRecord } from './samlConfig.js';

export type VerifiedSamlLogin = Readonly<{ login: LoginSucceeded; request: SamlRequestRecord; requestId: string }>;

/** node-saml reports failures as plain messages; these give them stable problem codes. */
const NODE_SAML_ERRORS: readonly (readonly [RegExp, string])[] = [
  [/^InResponseTo is missing/, 'saml-in-response-to-missing'],
  [/^InResponseTo is not valid/, 'saml-in-response-to-unknown'],
  [/SubjectInResponseTo|does not match subjectInResponseTo/, 'saml-in-response-to-mismatch'],
  [/signature|signed|ID cannot refer|Referenced node|too many transforms/i, 'saml-signature-invalid'],
  [/not yet valid/, 'saml-assertion-not-yet-valid'],
  [/expired/, 'saml-assertion-expired'],
  [/audience|AudienceRestriction/i, 'saml-audience-invalid'],
  [/subject confirmation/i, 'saml-subject-confirmation-invalid'],
  [/decryption key|EncryptedAssertion/i, 'saml-encrypted-assertion-unsupported'],
  [/Missing SAML assertion/, 'saml-assertion-missing'],
  [/XML|parse|Unexpected|Unclosed|Non-whitespace|Invalid character/i, 'saml-xml-invalid'],
];

function classify(error: unknown): string {
  if (error instanceof SamlStatusError) return 'saml-status-not-success';
  const message = error instanceof Error ? error.message : String(error);
  return NODE_SAML_ERRORS.find(([pattern]) => pattern.test(message))?.[1] ?? 'saml-response-invalid';
}

export type VerifyContext = Readonly<{
  /** The absolute URL the response was posted to: Recipient and Destination must name it. */
  receivedAt: string;
  relayState: string | undefined;
}>;

export async function verifySamlResponse(runtime: Runtime, idp: IdpStored, posted: PostedResponse, context: VerifyContext): Promise<VerifiedSamlLogin> {
  const tokens = runtime.oneTimeTokens;
  const { cache, found } = requestLookupCache(tokens);
  let settled = false;
  try {
    const verified = await verifyRead(runtime, idp, posted, context, cache, found);
    // The request is consumed and the assertion id recorded in one transaction: one commit.
    const { value, remembered } = await tokens.consumeAndRemember(
      { scope: SAML_REQUEST_SCOPE, key: verified.requestId },
      { scope: SAML_ASSERTION_SCOPE, key: verified.assertionKey, expiresAt: verified.keepUntil },
    );
    settled = true;
    if (value === undefined) throw invalidLogin('saml-in-response-to-unknown', `The request ${verified.requestId} was answered by another response`);
    if (!remembered) throw invalidLogin('saml-replayed', `Assertion ${verified.assertionId} was already used`);
    return { request: verified.request, requestId: verified.requestId, login: verified.login };
  } finally {
    const request = found();
    if (!settled && request) {
      try {
        await tokens.consume(SAML_REQUEST_SCOPE, request.id);
      } catch {
        // The rejection being thrown matters more; an unconsumed request still expires with its TTL.
      }
    }
  }
}

type VerifiedRead = VerifiedSamlLogin & Readonly<{ assertionId: string; assertionKey: string; keepUntil: Date }>;

/** Every check that only reads: node-saml's validation (looking the request up), then ours. */
async function verifyRead(
  runtime: Runtime,
  idp: IdpStored,
  posted: PostedResponse,
  context: VerifyContext,
  cache: ReturnType<typeof requestLookupCache>['cache'],
  found: () => ConsumedRequest | undefined,
): Promise<VerifiedRead> {
  const saml = samlFor(idp, runtime.config.publicUrl, cache);
  let profile: Profile | null;
  try {
    ({ profile } = await saml.validatePostResponseAsync({ SAMLResponse: Buffer.from(posted.xml, 'utf8').toString('base64') }));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw invalidLogin(classify(error), `node-saml: ${message}`, error);
  }
  if (!profile) throw invalidLogin('saml-assertion-missing', 'The response carries no assertion (NoPassive)');
  const request = found();
  // validateInResponseTo 'always' guarantees this; checked again because everything below relies on it.
  if (!request) throw invalidLogin('saml-in-response-to-unknown', 'The response does not answer a request this service issued');
  if (request.record.idpId !== idp.id) {
    throw invalidLogin('saml-in-response-to-wrong-idp', `The request ${request.id} was sent to IdP ${request.record.idpId}, not ${idp.id}`);
  }
  if (context.relayState !== undefined && context.relayState !== request.id) {
    throw invalidLogin('saml-relay-state-mismatch', 'RelayState does not belong to the answered request');
  }
  const facts = signedAssertionFacts(profile);
  if (facts.issuer !== idp['sso-issuer']) throw invalidLogin('saml-issuer-invalid', `The assertion Issuer is ${facts.issuer ?? 'missing'}, expected ${idp['sso-issuer'] ?? ''}`);
  checkSubjectConfirmation(idp, facts, request.id, context.receivedAt);
  // The signed Response's own envelope when its signature verified (always, unless the IdP signs
  // only assertions); otherwise the posted document's root, which is then unsigned.
  checkEnvelope(idp, saml.signedEnvelope ?? responseEnvelope(posted.xml), context.receivedAt);
  const subject = checkedNameId(facts.nameId, facts.nameIdFormat);
  const replay = replayCacheEntry(idp, facts);
  return {
    ...replay,
    request: request.record,
    requestId: request.id,
    login: {
      loginId: runtime.newId(),
      idpId: idp.id,
      protocol: 'saml',
      subject,
      attributes: facts.attributes,
      authenticatedAt: authenticatedAt(facts.authnInstant, runtime.now()),
    },
  };
}

/**
 * A bearer SubjectConfirmation must name the ACS URL that received the response (Recipient) and,
 * when it carries InResponseTo, our request. When the Response itself is not signed, its
 * InResponseTo is attacker-controlled, so the signed one in the assertion is then required.
 */
function checkSubjectConfirmation(idp: IdpStored, facts: AssertionFacts, requestId: string, receivedAt: string): void {
  // Date.now, not runtime.now: node-saml's own time checks read the system clock, and both must agree.
  const now = Date.now();
  const skew = samlClockSkewMs(idp);
  const bearer = facts.confirmations.filter((c) => c.method === 'urn:oasis:names:tc:SAML:2.0:cm:bearer');
  if (bearer.length === 0) throw invalidLogin('saml-subject-confirmation-invalid', 'The assertion has no bearer SubjectConfirmation');
  const current = bearer.filter((c) => c.notOnOrAfter !== undefined && now - skew < c.notOnOrAfter && (c.notBefore === undefined || now + skew >= c.notBefore));
  if (current.length === 0) throw invalidLogin('saml-assertion-expired', 'No bearer SubjectConfirmation is currently valid');
  const atUs = current.filter((c) => c.recipient === receivedAt);
  if (atUs.length === 0) {
    throw invalidLogin('saml-recipient-invalid', `SubjectConfirmationData Recipient is ${current.map((c) => c.recipient ?? 'missing').join(', ')}, expected ${receivedAt}`);
  }
  const signedRequestId = samlMode(idp) === 'assertion';
  const answering = atUs.filter((c) => (c.inResponseTo === undefined ? !signedRequestId : c.inResponseTo === requestId));
  if (answering.length === 0) {
    throw invalidLogin('saml-in-response-to-mismatch', 'The signed SubjectConfirmationData does not answer the request this response claims to answer');
  }
}

/**
 * The Response envelope: Destination names where the IdP meant it to go and must be us (it is
 * required when the Response is signed), and the top-level status must be Success — node-saml
 * reads an assertion even from a response whose status says the login failed.
 */
function checkEnvelope(idp: IdpStored, { destination, status }: ResponseEnvelope, receivedAt: string): void {
  if (status !== 'urn:oasis:names:tc:SAML:2.0:status:Success') throw invalidLogin('saml-status-not-success', `The response status is ${status ?? 'missing'}`);
  if (destination === undefined) {
    if (samlMode(idp) !== 'assertion') throw invalidLogin('saml-destination-invalid', 'The signed Response has no Destination');
    return;
  }
  if (destination !== receivedAt) throw invalidLogin('saml-destination-invalid', `Destination is ${destination}, expected ${receivedAt}`);
}

function checkedNameId(nameId: string | undefined, format: string | undefined): string {
  if (nameId === undefined || nameId === '') throw invalidLogin('saml-nameid-missing', 'The assertion has no NameID');
  // Trimming or normalizing here would let ` admin` sign in as `admin`: the subject is used as is
  // and refused when it carries surrounding whitespace or control characters.
  if (nameId !== nameId.trim() || /\p{Cc}/u.test(nameId) || nameId.length > 1024) {
    throw invalidLogin('saml-nameid-invalid', 'The NameID has surrounding whitespace, control characters or is too long');
  }
  // A transient NameID changes at every login, so it cannot identify a returning user.
  if (format === 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient') {
    throw invalidLogin('saml-nameid-transient', 'The NameID is transient; configure the IdP to send a persistent, email or unspecified NameID');
  }
  return nameId;
}

/** The replay cache entry: an assertion id is accepted once per IdP until the assertion expires. */
function replayCacheEntry(idp: IdpStored, facts: AssertionFacts): { assertionId: string; assertionKey: string; keepUntil: Date } {
  if (!facts.id) throw invalidLogin('saml-assertion-id-missing', 'The assertion has no ID');
  const expiries = [facts.conditionsNotOnOrAfter, ...facts.confirmations.map((c) => c.notOnOrAfter)].filter((t): t is number => t !== undefined);
  if (expiries.length === 0) throw invalidLogin('saml-assertion-no-expiry', 'The assertion has no NotOnOrAfter');
  // Kept past the last instant any instance could still accept it (its expiry plus the clock skew).
  return { assertionId: facts.id, assertionKey: `${idp.id}\n${facts.id}`, keepUntil: new Date(Math.max(...expiries) + samlClockSkewMs(idp) + 60_000) };
}

function authenticatedAt(authnInstant: number | undefined, now: Date): string {
  return authnInstant !== undefined && authnInstant <= now.getTime() ? new Date(authnInstant).toISOString() : now.toISOString();
}
