/**
 * Administrator actions on a JIT user (extensions of the Atlassian API): deactivate, reactivate,
 * grant and revoke a group. Answers the user as it is afterwards.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { runAdminUserCommand, type AdminUserCommand } from '../../provisioning/admin/userCommands.js';
import type { Runtime } from '../../runtime.js';
import { findUserOr404, toJitUserDetail } from '../jitUsers/routes.js';
import { adminContext } from '../idps/routes.js';
import { ref } from '../plugins/schemas.js';

const Comment = {
  type: 'object',
  additionalProperties: false,
  properties: { comment: { type: 'string', maxLength: 1024 } },
} as const;
/** `POST …/deactivate` with no body at all (curl -X POST) means no comment; an empty JSON body stays invalid JSON. */
async function noBodyMeansNoComment(request: FastifyRequest): Promise<void> {
  if (request.body === undefined) request.body = {};
}

const GroupParams = {
  type: 'object',
  additionalProperties: false,
  required: ['username', 'group'],
  properties: { username: { type: 'string', minLength: 1, maxLength: 255 }, group: { type: 'string', minLength: 1, maxLength: 255 } },
} as const;

export function userAdminRoutes(runtime: Runtime) {
  return async function routes(app: FastifyInstance): Promise<void> {
    const run = async (username: string, command: AdminUserCommand, request: Parameters<typeof adminContext>[0]) => {
      const user = await findUserOr404(runtime, username);
      const result = await runAdminUserCommand(runtime, user.userId, command, adminContext(request));
      if (result.lastPosition !== undefined && runtime.projector) await runtime.projector.waitFor(result.lastPosition);
      return toJitUserDetail(result.user);
    };
    const meta = () => ({ now: runtime.now().toISOString() });
    const schema = (summary: string, extra: object) => ({
      tags: ['JIT users'],
      summary,
      ...extra,
      response: { 200: ref('http/users.schema.json#/$defs/JitUserDetail') },
    });
    const usernameParams = ref('http/users.schema.json#/$defs/UsernameParams');

    app.post<{ Params: { username: string }; Body: { comment?: string } | undefined }>(
      '/jit-users/:username/deactivate',
      {
        config: { right: 'admin' },
        preValidation: noBodyMeansNoComment,
        schema: schema('Deactivate a user: later logins are rejected (user-deactivated)', { params: usernameParams, body: Comment }),
      },
      (request) => run(request.params.username, { type: 'DeactivateUser', data: { reason: 'admin', ...(request.body?.comment ? { comment: request.body.comment } : {}) }, metadata: meta() }, request),
    );
    app.post<{ Params: { username: string }; Body: { comment?: string } | undefined }>(
      '/jit-users/:username/reactivate',
      {
        config: { right: 'admin' },
        preValidation: noBodyMeansNoComment,
        schema: schema('Reactivate a user (logins never reactivate anyone)', { params: usernameParams, body: Comment }),
      },
      (request) => run(request.params.username, { type: 'ReactivateUser', data: request.body?.comment ? { comment: request.body.comment } : {}, metadata: meta() }, request),
    );
    app.put<{ Params: { username: string; group: string } }>(
      '/jit-users/:username/groups/:group',
      { config: { right: 'admin' }, schema: schema('Grant a group (provenance: admin)', { params: GroupParams }) },
      (request) => run(request.params.username, { type: 'GrantGroup', data: { group: request.params.group }, metadata: meta() }, request),
    );
    app.delete<{ Params: { username: string; group: string } }>(
      '/jit-users/:username/groups/:group',
      { config: { right: 'admin' }, schema: schema('Remove the user from a group, whoever granted it', { params: GroupParams }) },
      (request) => run(request.params.username, { type: 'RevokeGroup', data: { group: request.params.group }, metadata: meta() }, request),
    );
  };
}
