/**
 * GET /sso/session (who is signed in, for the admin page and other front ends) and POST
 * /sso/logout. Both are JSON routes without bearer tokens: the session cookie is the credential.
 */
import type { FastifyInstance } from 'fastify';
import type { Runtime } from '../../runtime.js';
import { ServiceError } from '../../shared/errors.js';
import { safeReturnTo } from '../returnTo.js';
import { currentSession, isAdmin } from './session.js';

const SessionView = {
  type: 'object',
  additionalProperties: false,
  required: ['user-id', 'username', 'display-name', 'groups', 'groups-complete', 'admin', 'idp-id', 'protocol', 'authenticated-at', 'expires-at'],
  properties: {
    'user-id': { type: 'string' },
    username: { type: 'string' },
    'display-name': { type: 'string' },
    groups: { type: 'array', items: { type: 'string' } },
    'groups-complete': { type: 'boolean', description: 'False when the group list was too long for the cookie and only admin groups were kept.' },
    admin: { type: 'boolean', description: 'Whether one of the groups is in JIT_ADMIN_GROUPS.' },
    'idp-id': { type: 'string' },
    protocol: { type: 'string', enum: ['saml', 'oidc'] },
    'authenticated-at': { type: 'string', format: 'date-time' },
    'expires-at': { type: 'string', format: 'date-time' },
  },
} as const;

export function sessionRoutes(runtime: Runtime) {
  return async function routes(app: FastifyInstance): Promise<void> {
    app.get(
      '/sso/session',
      { config: { right: 'none' }, schema: { tags: ['sso'], summary: 'The current SSO session', security: [], response: { 200: SessionView } } },
      async (request, reply) => {
        const session = currentSession(request.session.get('sso'), runtime.now());
        if (!session) throw new ServiceError('session-required');
        reply.header('cache-control', 'no-store');
        return {
          'user-id': session.userId,
          username: session.username,
          'display-name': session.displayName,
          groups: [...session.groups],
          'groups-complete': session.groupsComplete,
          admin: isAdmin(session.groups, runtime.config.adminGroups),
          'idp-id': session.idpId,
          protocol: session.protocol,
          'authenticated-at': session.authenticatedAt,
          'expires-at': session.expiresAt,
        };
      },
    );

    app.post<{ Querystring: { returnTo?: string } }>(
      '/sso/logout',
      {
        config: { right: 'none' },
        schema: {
          tags: ['sso'],
          summary: 'End the SSO session (clears the cookie); with returnTo, redirects there',
          security: [],
          querystring: { type: 'object', additionalProperties: false, properties: { returnTo: { type: 'string', maxLength: 2048 } } },
        },
      },
      async (request, reply) => {
        request.session.delete();
        reply.header('cache-control', 'no-store');
        const { returnTo } = request.query;
        if (returnTo === undefined) return reply.status(204).send();
        const target = safeReturnTo(returnTo, { publicUrl: runtime.config.publicUrl, allowlist: runtime.config.returnToAllowlist });
        return reply.redirect(target, 303);
      },
    );
  };
}
