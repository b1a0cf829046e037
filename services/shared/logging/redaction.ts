/**
 * What never reaches a log line: credentials (bearer tokens, cookies, client secrets), SAML and
 * OIDC protocol payloads (SAMLResponse, codes, tokens, state) and the personal data a login
 * carries (attributes, claims). Three layers, because each one alone has gaps:
 *
 * - pino `redact` paths for the well-known places (request headers, nested secrets);
 * - `scrubSecrets` (pino's `formatters.log`) for those keys at any depth of a logged object;
 * - the `req` serializer masks sensitive query parameters, since Fastify logs the URL with its
 *   query string (`/sso/x/oidc/callback?code=…&state=…`).
 */
import type { IncomingMessage } from 'node:http';

export const REDACTED = '[redacted]';

/** Object keys whose values are secret or personal data, compared case-insensitively. */
const SECRET_KEYS = new Set(
  [
    'authorization',
    'proxy-authorization',
    'cookie',
    'set-cookie',
    'client-secret',
    'clientSecret',
    'client_secret',
    'password',
    'secret',
    'token',
    'SAMLResponse',
    'SAMLRequest',
    'RelayState',
    'Signature',
    'code',
    'code_verifier',
    'state',
    'nonce',
    'id_token',
    'access_token',
    'refresh_token',
    'session_state',
    'attributes',
    'claims',
  ].map((key) => key.toLowerCase()),
);

/**
 * `code` is an OAuth authorization code in a callback, but an error code in our own log lines
 * (top level: `request refused`, `login refused`) and in error and problem objects, which always
 * carry a `message` beside it. Those stay readable.
 */
function isErrorCode(key: string, depth: number, object: Record<string, unknown>): boolean {
  return key === 'code' && (depth === 0 || typeof object['message'] === 'string');
}

/** Query parameters that carry protocol payloads or credentials. */
const SECRET_QUERY_PARAMS = new Set(
  ['SAMLResponse', 'SAMLRequest', 'RelayState', 'Signature', 'code', 'state', 'id_token', 'access_token', 'refresh_token', 'token', 'session_state', 'client_secret', 'code_verifier', 'password'].map(
    (key) => key.toLowerCase(),
  ),
);

export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'headers["set-cookie"]',
  '*["client-secret"]',
  '*.clientSecret',
  '*.password',
  '*.token',
  '*.SAMLResponse',
  '*.SAMLRequest',
  '*.RelayState',
  '*.id_token',
  '*.access_token',
  '*.refresh_token',
  '*.attributes',
  '*.claims',
];

const MAX_DEPTH = 8;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

function scrub(value: unknown, depth: number): unknown {
  if (depth > MAX_DEPTH) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    value.forEach((item, i) => {
      const cleaned = scrub(item, depth + 1);
      if (cleaned !== item) (copy ??= [...value])[i] = cleaned;
    });
    return copy ?? value;
  }
  if (!isPlainObject(value)) return value;
  let copy: Record<string, unknown> | undefined;
  for (const [key, item] of Object.entries(value)) {
    const secret = SECRET_KEYS.has(key.toLowerCase()) && !isErrorCode(key, depth, value);
    const cleaned = secret ? REDACTED : scrub(item, depth + 1);
    if (cleaned !== item) (copy ??= { ...value })[key] = cleaned;
  }
  return copy ?? value;
}

/** The logged object with secret keys masked at any depth; the caller's object is never changed. */
export function scrubSecrets(object: Record<string, unknown>): Record<string, unknown> {
  return scrub(object, 0) as Record<string, unknown>;
}

/** The URL with the values of sensitive query parameters masked; everything else as it came. */
export function maskUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const params = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const rawKey = eq < 0 ? pair : pair.slice(0, eq);
      let key = rawKey;
      try {
        key = decodeURIComponent(rawKey.replace(/\+/g, ' '));
      } catch {
        // A malformed escape: compare the raw text.
      }
      return SECRET_QUERY_PARAMS.has(key.trim().toLowerCase()) ? `${rawKey}=${REDACTED}` : pair;
    });
  return `${url.slice(0, q)}?${params.join('&')}`;
}

type LoggedRequest = Pick<IncomingMessage, 'method' | 'url' | 'headers' | 'socket'> & { host?: string; ip?: string };

/** Fastify's request serializer, with the query string masked. */
export function serializeRequest(request: LoggedRequest): Record<string, unknown> {
  return {
    method: request.method,
    url: maskUrl(request.url ?? ''),
    version: request.headers['accept-version'],
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}
