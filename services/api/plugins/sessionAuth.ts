/**
 * SSO-session authorization of admin routes. A browser signed in through the gateway, whose
 * session's groups include one of JIT_ADMIN_GROUPS, may call admin routes with its cookie alone:
 * that is how the admin page works after "Sign in with Okta". The read model is asked on every
 * request, so an admin who is deactivated, deleted or taken out of every admin group loses access
 * at once, not when the 8-hour cookie expires.
 *
 * A browser attaches the cookie whichever site caused the request, so a cookie-authorized request
 * must also show that our own page sent it (CSRF): the header `X-JIT-CSRF: 1`, which a cross-site
 * form, link or image cannot send and a cross-site fetch cannot send without a CORS preflight this
 * service never grants, or an `Origin` equal to JIT_PUBLIC_URL's origin. A request with an
 * Authorization header is decided by its bearer token alone: it carries no ambient credential.
 */
import type { FastifyRequest } from 'fastify';
import { isAdmin, sessionCookieReader } from '../../gateway/session/session.js';
import { groupNames } from '../../provisioning/user/userState.js';
import type { Runtime } from '../../runtime.js';
import { ServiceError } from '../../shared/errors.js';
import type { Principal, Right } from './auth.js';

export const CSRF_HEADER = 'x-jit-csrf';
/** Event metadata's actor is at most 128 characters; a longer username is named by its user id. */
const MAX_ACTOR = 128;

export type SessionAuthority = {
  /**
   * The principal of an admin request authorized by its SSO session cookie, or undefined when the
   * request has an Authorization header, no valid session, or needs a right other than admin (the
   * bearer-token check then decides). Throws 401/403 for a session that may not do it.
   */
  authorize(request: FastifyRequest, right: Right): Promise<Principal | undefined>;
};

function sentByOwnPage(request: FastifyRequest, publicOrigin: string): boolean {
  return request.headers[CSRF_HEADER] === '1' || request.headers.origin === publicOrigin;
}

export async function sessionAuthority(runtime: Runtime): Promise<SessionAuthority> {
  const readSession = await sessionCookieReader(runtime.sessionSecret);
  const publicOrigin = new URL(runtime.config.publicUrl).origin;
  const { adminGroups } = runtime.config;
  return {
    async authorize(request, right) {
      if (request.headers.authorization !== undefined || right !== 'admin') return undefined;
      const session = readSession(request.headers.cookie, runtime.now());
      if (!session) return undefined;
      if (!sentByOwnPage(request, publicOrigin)) {
        throw new ServiceError('forbidden', `A request authorized by the SSO session cookie needs the header X-JIT-CSRF: 1 (or a same-origin Origin)`);
      }
      if (!isAdmin(session.groups, adminGroups)) throw new ServiceError('forbidden', 'Your SSO session does not include an administrator group');
      const user = await runtime.readModel.findUser(session.userId);
      if (!user) throw new ServiceError('session-required', 'The user of this SSO session no longer exists; sign in again');
      if (!user.active) throw new ServiceError('forbidden', 'Your account is deactivated');
      if (!isAdmin(groupNames(user), adminGroups)) throw new ServiceError('forbidden', 'You are no longer a member of an administrator group');
      const actor = `sso:${user.username}`;
      return { right: 'admin', actor: actor.length <= MAX_ACTOR ? actor : `sso:${user.userId}` };
    },
  };
}
