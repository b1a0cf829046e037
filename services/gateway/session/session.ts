/**
 * The browser session after an SSO login. It lives entirely in one cookie, sealed by
 * @fastify/secure-session (XSalsa20-Poly1305: encrypted and authenticated), so any instance can
 * read it and nothing server-side has to be shared. The cookie is HttpOnly, SameSite=Lax and
 * Secure when the public URL is https.
 */
import { hkdfSync } from 'node:crypto';
import { fastifyCookie } from '@fastify/cookie';
import Fastify, { type FastifyInstance } from 'fastify';
import secureSession from '@fastify/secure-session';
import type { UserView } from '../../provisioning/user/outcome.js';
import { groupKey } from '../../provisioning/user/normalize.js';

declare module '@fastify/secure-session' {
  interface SessionData {
    /** Our session; unknown until assertGatewaySession has checked its shape. */
    sso: unknown;
  }
}

export const SESSION_COOKIE = 'jit_session';
export const SESSION_TTL_SECONDS = 8 * 60 * 60;
/**
 * Browsers drop cookies over 4096 bytes; the sealed cookie is the JSON plus ~40 bytes, in
 * base64. Group lists beyond this keep only the admin groups (see sessionFor).
 */
const MAX_SESSION_JSON = 2600;

export type GatewaySession = Readonly<{
  v: 1;
  userId: string;
  username: string;
  displayName: string;
  groups: readonly string[];
  /** False when the user's group list was too long for a cookie and only admin groups were kept. */
  groupsComplete: boolean;
  idpId: string;
  protocol: 'saml' | 'oidc';
  authenticatedAt: string;
  expiresAt: string;
}>;

export function isHttps(publicUrl: string): boolean {
  return publicUrl.toLowerCase().startsWith('https:');
}

/** The session cookie key: derived from JIT_SESSION_SECRET, so rotating that secret ends every session. */
export function sessionKey(secret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, 'jit-provisioning-service', 'gateway-session-cookie-v1', 32));
}

export async function registerSessions(app: FastifyInstance, options: { secret: string; publicUrl: string }): Promise<void> {
  await app.register(secureSession, {
    key: sessionKey(options.secret),
    cookieName: SESSION_COOKIE,
    expiry: SESSION_TTL_SECONDS,
    cookie: { path: '/', httpOnly: true, sameSite: 'lax', secure: isHttps(options.publicUrl), maxAge: SESSION_TTL_SECONDS },
  });
}

export type SessionCookieReader = (cookieHeader: string | undefined, now: Date) => GatewaySession | undefined;

/**
 * Reads the session from a request's Cookie header outside the gateway's scope: the admin API
 * authorizes with it, also in a process that does not run the gateway. The cookie is opened by
 * the same library, key and expiry as registerSessions, on a private instance that never listens,
 * so the two readings can never disagree.
 */
export async function sessionCookieReader(secret: string): Promise<SessionCookieReader> {
  const reader = Fastify({ logger: false });
  await reader.register(secureSession, { key: sessionKey(secret), cookieName: SESSION_COOKIE, expiry: SESSION_TTL_SECONDS });
  await reader.ready();
  return (cookieHeader, now) => {
    const sealed = cookieHeader ? fastifyCookie.parse(cookieHeader)[SESSION_COOKIE] : undefined;
    return sealed ? currentSession(reader.decodeSecureSession(sealed)?.get('sso'), now) : undefined;
  };
}

export function isAdmin(groups: readonly string[], adminGroups: readonly string[]): boolean {
  const admin = new Set(adminGroups.map(groupKey));
  return groups.some((g) => admin.has(groupKey(g)));
}

export function sessionFor(
  user: UserView,
  login: { idpId: string; protocol: 'saml' | 'oidc'; authenticatedAt: string },
  now: Date,
  adminGroups: readonly string[],
): GatewaySession {
  const session: GatewaySession = {
    v: 1,
    userId: user['user-id'],
    username: user.username,
    displayName: user['display-name'],
    groups: user.groups,
    groupsComplete: true,
    idpId: login.idpId,
    protocol: login.protocol,
    authenticatedAt: login.authenticatedAt,
    expiresAt: new Date(now.getTime() + SESSION_TTL_SECONDS * 1000).toISOString(),
  };
  if (JSON.stringify(session).length <= MAX_SESSION_JSON) return session;
  // A cookie that is too large is silently dropped by the browser (a login loop); keeping the
  // groups that grant admin rights is what the session is used for beyond identity.
  const admin = new Set(adminGroups.map(groupKey));
  return { ...session, groups: user.groups.filter((g) => admin.has(groupKey(g))).slice(0, 20), groupsComplete: false };
}

const isString = (v: unknown): v is string => typeof v === 'string';

/** Narrows a decoded cookie value to a current session; undefined when malformed or expired. */
export function currentSession(value: unknown, now: Date): GatewaySession | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const s = value as Record<string, unknown>;
  const valid =
    s['v'] === 1 &&
    isString(s['userId']) &&
    isString(s['username']) &&
    isString(s['displayName']) &&
    Array.isArray(s['groups']) &&
    s['groups'].every(isString) &&
    typeof s['groupsComplete'] === 'boolean' &&
    isString(s['idpId']) &&
    (s['protocol'] === 'saml' || s['protocol'] === 'oidc') &&
    isString(s['authenticatedAt']) &&
    isString(s['expiresAt']);
  if (!valid) return undefined;
  const session = value as GatewaySession;
  const expires = Date.parse(session.expiresAt);
  return Number.isFinite(expires) && expires > now.getTime() ? session : undefined;
}
