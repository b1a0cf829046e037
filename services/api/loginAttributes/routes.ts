/**
 * The attributes kept from a user's last login (for impact analysis): see and erase them.
 * GET/DELETE /rest/authconfig/1.0/jit-users/{username}/login-attributes.
 */
import type { FastifyInstance } from 'fastify';
import type { Runtime } from '../../runtime.js';
import { findUserOr404 } from '../jitUsers/routes.js';
import { ref } from '../plugins/schemas.js';

const Kept = {
  type: 'object',
  additionalProperties: false,
  required: ['retention-days', 'logins'],
  properties: {
    'retention-days': { type: 'integer' },
    logins: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['idp-id', 'subject', 'authenticated-at', 'expires-at'],
        properties: {
          'idp-id': { type: 'string' },
          subject: { type: 'string' },
          'authenticated-at': { type: 'string' },
          'expires-at': { type: 'string' },
          attributes: { type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } } },
          claims: { type: 'object', additionalProperties: true },
        },
      },
    },
  },
} as const;

export function loginAttributesRoutes(runtime: Runtime) {
  const snapshots = runtime.backends.loginSnapshots;
  return async function routes(app: FastifyInstance): Promise<void> {
    const params = ref('http/users.schema.json#/$defs/UsernameParams');
    app.get<{ Params: { username: string } }>(
      '/jit-users/:username/login-attributes',
      { config: { right: 'admin' }, schema: { tags: ['JIT users'], summary: "Attributes kept from the user's last login per identity", params, response: { 200: Kept } } },
      async (request) => {
        const user = await findUserOr404(runtime, request.params.username);
        const kept = await snapshots.forUser(user.userId, runtime.now());
        return {
          'retention-days': runtime.config.loginAttributesDays,
          logins: kept.map((s) => ({
            'idp-id': s.login.idpId,
            subject: s.login.subject,
            'authenticated-at': s.login.authenticatedAt,
            'expires-at': s.expiresAt,
            ...(s.login.attributes ? { attributes: s.login.attributes } : {}),
            ...(s.login.claims ? { claims: s.login.claims } : {}),
          })),
        };
      },
    );
    app.delete<{ Params: { username: string } }>(
      '/jit-users/:username/login-attributes',
      { config: { right: 'admin' }, schema: { tags: ['JIT users'], summary: "Erase the attributes kept from the user's logins", params, response: { 204: { type: 'null' } } } },
      async (request, reply) => {
        const user = await findUserOr404(runtime, request.params.username);
        await snapshots.erase(user.userId);
        return reply.status(204).send();
      },
    );
  };
}
