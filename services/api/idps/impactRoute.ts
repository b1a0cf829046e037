/**
 * POST /idps/{id}/impact: what a proposed configuration (fields as in PATCH) would do to every
 * user of the IdP on their next login. Writes nothing.
 */
import type { FastifyInstance } from 'fastify';
import type { IdpPatch } from '../../../schemas/types.gen.js';
import { ServiceError } from '../../shared/errors.js';
import { analyzeImpact } from '../../provisioning/impact/impactAnalysis.js';
import { decideIdp } from '../../provisioning/idps/idpDecider.js';
import type { Runtime } from '../../runtime.js';
import { ref } from '../plugins/schemas.js';

export function impactRoute(runtime: Runtime) {
  return async function routes(app: FastifyInstance): Promise<void> {
    app.post<{ Params: { id: string }; Body: IdpPatch }>(
      '/idps/:id/impact',
      {
        config: { right: 'admin' },
        schema: {
          tags: ['IdP configuration'],
          summary: 'Impact analysis: what a proposed configuration would change for every user of the IdP (e.g. "removes 42 users from group X")',
          params: { type: 'object', additionalProperties: false, required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 63 } } },
          body: ref('idp.schema.json#/$defs/IdpPatch'),
          response: { 200: ref('http/impact.schema.json#/$defs/ImpactResult') },
        },
      },
      async (request) => {
        const { id } = request.params;
        const state = runtime.registry.state(id);
        if (state.status !== 'active') throw new ServiceError('idp-not-found', `No IdP with id ${id}`);
        // Validates the proposal exactly as PATCH would, without appending anything.
        const [event] = decideIdp({ type: 'UpdateIdp', data: { id, patch: request.body, replace: false } }, state);
        const proposed = event?.type === 'IdpUpdated' ? event.data.idp : state.idp;
        return analyzeImpact({ store: runtime.store, readModel: runtime.readModel, loginSnapshots: runtime.backends.loginSnapshots }, proposed, runtime.now());
      },
    );
  };
}
