/**
 * Binds a login to the browser that started it (RFC 6749 §10.12, login CSRF): /login sets a
 * random cookie and the server-side request record keeps its SHA-256; the callback must present
 * it. Without this, an attacker could start a login, sign in as themselves and send the victim the
 * callback link, signing the victim in to the attacker's account.
 *
 * SAML responses arrive as cross-site POSTs, which carry only SameSite=None cookies, and browsers
 * accept those only with Secure: the SAML flow is therefore bound only when the public URL is https.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { invalidLogin } from './rejections.js';
import { isHttps } from './session/session.js';

const BINDING_TTL_SECONDS = 10 * 60;

const digest = (value: string): string => createHash('sha256').update(value, 'utf8').digest('hex');

/** One cookie per login (named after the request key), so logins started in two tabs both work. */
const cookieName = (key: string): string => `jit_login_${digest(key).slice(0, 16)}`;

export type BindingKind = 'oidc' | 'saml';

export function bindingApplies(kind: BindingKind, publicUrl: string): boolean {
  return kind === 'oidc' || isHttps(publicUrl);
}

/** Sets the cookie; answers the digest to keep in the request record. */
export function bindLogin(reply: FastifyReply, kind: BindingKind, key: string, publicUrl: string): string | undefined {
  if (!bindingApplies(kind, publicUrl)) return undefined;
  const value = randomBytes(32).toString('base64url');
  const secure = isHttps(publicUrl);
  reply.setCookie(cookieName(key), value, {
    path: '/',
    httpOnly: true,
    secure,
    sameSite: kind === 'saml' ? 'none' : 'lax',
    maxAge: BINDING_TTL_SECONDS,
  });
  return digest(value);
}

/** Checks and clears the cookie; throws invalid-login when it is missing or does not match. */
export function checkLoginBinding(request: FastifyRequest, reply: FastifyReply, key: string, expected: string | undefined): void {
  if (expected === undefined) return;
  const name = cookieName(key);
  const presented = request.cookies[name];
  reply.clearCookie(name, { path: '/' });
  const matches = presented !== undefined && expected.length === 64 && timingSafeEqual(Buffer.from(digest(presented), 'hex'), Buffer.from(expected, 'hex'));
  if (!matches) throw invalidLogin('login-not-bound', 'The login was not started in this browser (missing or wrong binding cookie)');
}
