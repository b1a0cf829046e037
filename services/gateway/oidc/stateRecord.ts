/**
 * What the service keeps about an OIDC authorization request, server-side in the one-time-token
 * store under its `state`: consumed exactly once, by whichever instance gets the callback.
 */
export const OIDC_STATE_SCOPE = 'oidc-state';
export const OIDC_STATE_TTL_MS = 10 * 60_000;

export type OidcStateRecord = Readonly<{
  idpId: string;
  nonce: string;
  codeVerifier: string;
  /** The redirect_uri sent in the authorization request; the token request must repeat it. */
  redirectUri: string;
  returnTo: string;
  /** SHA-256 of the browser-binding cookie value. */
  binding?: string;
}>;

export function parseOidcStateRecord(raw: string | undefined): OidcStateRecord | undefined {
  if (raw === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const r = value as Record<string, unknown>;
  const strings = ['idpId', 'nonce', 'codeVerifier', 'redirectUri', 'returnTo'].every((k) => typeof r[k] === 'string');
  return strings && (r['binding'] === undefined || typeof r['binding'] === 'string') ? (value as OidcStateRecord) : undefined;
}
