/** POST /rest/jit/1.0/inactivity/preview and /run: the inactivity policy (deactivate-after-days). */
import type { FastifyInstance } from 'fastify';
import type { InactivityRequest } from '../../../schemas/types.gen.js';
import { previewInactivity, runInactivity } from '../../provisioning/inactivity/inactivityPolicy.js';
import type { Runtime } from '../../runtime.js';
import { adminContext } from '../idps/routes.js';
import { ref } from '../plugins/schemas.js';

export function inactivityRoutes(runtime: Runtime) {
  const deps = { store: runtime.store, readModel: runtime.readModel, idps: runtime.registry, newId: runtime.newId };
  const schema = (summary: string) => ({
    tags: ['Inactivity policy'],
    summary,
    body: ref('http/inactivity.schema.json#/$defs/InactivityRequest'),
    response: { 200: ref('http/inactivity.schema.json#/$defs/InactivityResult') },
  });
  return async function routes(app: FastifyInstance): Promise<void> {
    // The body is optional: no body means every IdP with a policy.
    app.addHook('preValidation', async (request) => {
      request.body ??= {};
    });
    app.post<{ Body: InactivityRequest | undefined }>(
      '/inactivity/preview',
      { config: { right: 'admin' }, schema: schema('Who the inactivity policy would deactivate now (writes nothing)') },
      (request) => previewInactivity(deps, runtime.now(), request.body?.idp),
    );
    app.post<{ Body: InactivityRequest | undefined }>(
      '/inactivity/run',
      { config: { right: 'admin' }, schema: schema('Deactivate inactive users (UserDeactivated, reason inactive); idempotent') },
      async (request) => {
        const { lastPosition, ...result } = await runInactivity(deps, runtime.now(), adminContext(request), request.body?.idp);
        if (lastPosition !== undefined) await runtime.projector?.waitFor(lastPosition);
        return result;
      },
    );
  };
}
