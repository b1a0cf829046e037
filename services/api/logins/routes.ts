/**
 * POST /rest/jit/1.0/logins: external SSO gateways submit verified logins; the answer is
 * synchronous (provisioned / updated / unchanged, or 403 login-rejected).
 */
import type { FastifyInstance } from 'fastify';
import type { LoginSucceeded } from '../../../schemas/types.gen.js';
import { provisionOnLogin } from '../../provisioning/login/provisionOnLogin.js';
import type { Runtime } from '../../runtime.js';
import { ref } from '../plugins/schemas.js';

export function loginRoutes(runtime: Runtime) {
  return async function routes(app: FastifyInstance): Promise<void> {
    app.post<{ Body: LoginSucceeded }>(
      '/logins',
      {
        config: { right: 'gateway' },
        bodyLimit: 512 * 1024,
        schema: {
          tags: ['Logins'],
          summary: 'Submit a verified login (LoginSucceeded); provisions or updates the user synchronously',
          body: ref('login-succeeded.schema.json'),
          response: {
            200: ref('http/logins.schema.json#/$defs/LoginOutcome'),
            403: ref('http/logins.schema.json#/$defs/LoginRejectedAnswer'),
          },
        },
      },
      async (request, reply) => {
        const result = await provisionOnLogin({ ...runtime, idps: runtime.registry }, request.body, {
          correlationId: request.id,
          actor: request.principal?.actor ?? 'gateway',
        });
        if (result.outcome === 'rejected') {
          return reply.status(403).send({ error: 'login-rejected', reason: result.reason, message: result.message, problems: [...result.problems] });
        }
        return { outcome: result.outcome, user: result.user };
      },
    );
  };
}
