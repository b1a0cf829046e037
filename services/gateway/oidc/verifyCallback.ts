/**
 * The OIDC callback's verification: the authorization code is exchanged with PKCE, and
 * openid-client checks state, the `iss` response parameter, and the ID token's signature (JWKS,
 * non-repudiation checks on), issuer, audience, expiry and nonce. Claims come from the verified ID
 * token. Like Atlassian, and only for the username, a claim the username mapping needs that the ID
 * token lacks is taken from the userinfo endpoint (openid-client checks that its `sub` matches);
 * the JIT mappings (display name, email, groups) use ID token claims only.
 */
import * as client from 'openid-client';
import type { IdpStored, LoginSucceeded } from '../../../schemas/types.gen.js';
import { usernameExpression } from '../../provisioning/login/mapLogin.js';
import { parseExpression, variablesOf } from '../../provisioning/mapping/index.js';
import type { Runtime } from '../../runtime.js';
import { ServiceError } from '../../shared/errors.js';
import { invalidLogin } from '../rejections.js';
import { oidcConfiguration } from './clientConfig.js';
import type { OidcStateRecord } from './stateRecord.js';

/** Protocol values of the ID token that describe the token, not the user. */
const PROTOCOL_CLAIMS = new Set(['nonce', 'at_hash', 'c_hash', 's_hash', 'jti']);

type Cause = { code?: unknown; message?: unknown; cause?: unknown; claim?: unknown };
const causeOf = (error: unknown): Cause => (typeof error === 'object' && error !== null ? (error as Cause) : {});

/**
 * openid-client errors to stable problem codes. They arrive as a ClientError (code) wrapping
 * oauth4webapi's error, whose cause names the offending claim.
 */
export function classifyOidcError(error: unknown): string {
  if (error instanceof client.ResponseBodyError) return 'oidc-token-request-failed';
  if (error instanceof client.AuthorizationResponseError) return 'oidc-error-response';
  const outer = causeOf(error);
  const inner = causeOf(outer.cause);
  const claim = causeOf(inner.cause).claim;
  const message = `${String(outer.message ?? '')} ${String(inner.message ?? '')}`;
  switch (outer.code) {
    case 'OAUTH_JWT_CLAIM_COMPARISON_FAILED':
      return claimCode(typeof claim === 'string' ? claim : '');
    case 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED':
      return claim === 'nbf' ? 'oidc-token-not-yet-valid' : 'oidc-token-expired';
    case 'OAUTH_KEY_SELECTION_FAILED':
      return 'oidc-signing-key-unknown';
    case 'OAUTH_UNSUPPORTED_OPERATION':
      return 'oidc-algorithm-rejected';
    case 'OAUTH_INVALID_RESPONSE':
      if (/signature/i.test(message)) return 'oidc-signature-invalid';
      if (/"alg"/.test(message)) return 'oidc-algorithm-rejected';
      if (/claim missing|claim type/.test(message)) return 'oidc-claim-missing';
      if (/"iss"/.test(message)) return 'oidc-issuer-mismatch';
      if (/"state"/.test(message)) return 'oidc-state-mismatch';
      return 'oidc-token-response-invalid';
    case 'OAUTH_TIMEOUT':
    case 'OAUTH_RESPONSE_IS_NOT_CONFORM':
    case 'OAUTH_RESPONSE_IS_NOT_JSON':
      return 'oidc-token-request-failed';
    default:
      return 'oidc-token-response-invalid';
  }
}

function claimCode(claim: string): string {
  switch (claim) {
    case 'nonce':
      return 'oidc-nonce-mismatch';
    case 'iss':
      return 'oidc-issuer-mismatch';
    case 'aud':
    case 'azp':
      return 'oidc-audience-mismatch';
    default:
      return 'oidc-claim-mismatch';
  }
}

function describe(error: unknown): string {
  const outer = causeOf(error);
  const inner = causeOf(outer.cause);
  return [outer.message, inner.message].filter((m) => typeof m === 'string' && m !== '').join(': ');
}

/** Username claims missing from the ID token, taken from userinfo (Atlassian's fallback); own claims only, never inherited members. */
async function usernameClaimsFromUserinfo(
  config: client.Configuration,
  idp: IdpStored,
  claims: Record<string, unknown>,
  accessToken: string,
  log: (detail: string) => void,
): Promise<Record<string, unknown>> {
  const parsed = parseExpression(usernameExpression(idp));
  const missing = parsed.ok ? variablesOf(parsed.expression).filter((name) => !Object.hasOwn(claims, name)) : [];
  if (missing.length === 0 || !config.serverMetadata().userinfo_endpoint || typeof claims['sub'] !== 'string') return {};
  try {
    const info = await client.fetchUserInfo(config, accessToken, claims['sub']);
    return Object.fromEntries(missing.filter((name) => Object.hasOwn(info, name) && info[name] !== undefined).map((name) => [name, info[name]]));
  } catch (error) {
    // The mapping then reports the claim as missing, which is the accurate outcome.
    log(describe(error));
    return {};
  }
}

export type CallbackInput = Readonly<{ state: string; record: OidcStateRecord; rawQuery: string }>;

export async function verifyOidcCallback(runtime: Runtime, idp: IdpStored, input: CallbackInput, log: (detail: string) => void): Promise<LoginSucceeded> {
  const config = await oidcConfiguration(idp);
  // The URL the IdP redirected to: our redirect_uri (as sent) plus the response parameters.
  const currentUrl = new URL(input.record.redirectUri);
  currentUrl.search = input.rawQuery;
  let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
  try {
    tokens = await client.authorizationCodeGrant(config, currentUrl, {
      pkceCodeVerifier: input.record.codeVerifier,
      expectedState: input.state,
      expectedNonce: input.record.nonce,
      idTokenExpected: true,
    });
  } catch (error) {
    if (error instanceof TypeError && /fetch/i.test(error.message)) throw new ServiceError('idp-unreachable', undefined, { cause: error });
    throw invalidLogin(classifyOidcError(error), describe(error), error);
  }
  const verified = tokens.claims();
  if (!verified) throw invalidLogin('oidc-id-token-missing', 'The token response has no ID token');
  const claims: Record<string, unknown> = Object.fromEntries(Object.entries(verified).filter(([name]) => !PROTOCOL_CLAIMS.has(name)));
  const subject = claims['sub'];
  if (typeof subject !== 'string' || subject === '' || subject.length > 1024 || /\p{Cc}/u.test(subject)) {
    throw invalidLogin('oidc-subject-invalid', 'The ID token sub is empty, too long or has control characters');
  }
  const fromUserinfo = await usernameClaimsFromUserinfo(config, idp, claims, tokens.access_token, log);
  const authTime = typeof claims['auth_time'] === 'number' ? claims['auth_time'] * 1000 : undefined;
  const now = runtime.now();
  return {
    loginId: runtime.newId(),
    idpId: idp.id,
    protocol: 'oidc',
    subject,
    claims: { ...fromUserinfo, ...claims },
    authenticatedAt: new Date(authTime !== undefined && authTime <= now.getTime() ? authTime : now.getTime()).toISOString(),
  };
}
