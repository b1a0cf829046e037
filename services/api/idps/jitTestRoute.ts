/**
 * POST /idps/{id}/jit-test: the dry run of a sample login against the stored configuration, or a
 * proposed one (body.idp, fields as in PATCH). Writes nothing.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { IdpStored, JitTestRequest, LoginSucceeded } from '../../../schemas/types.gen.js';
import { ServiceError } from '../../shared/errors.js';
import { decideIdp } from '../../provisioning/idps/idpDecider.js';
import { dryRunLogin } from '../../provisioning/login/dryRun.js';
import type { Runtime } from '../../runtime.js';
import { ref } from '../plugins/schemas.js';

function sampleLogin(idp: IdpStored, body: JitTestRequest, now: Date): LoginSucceeded {
  const base = { loginId: randomUUID(), idpId: idp.id, authenticatedAt: now.toISOString() };
  if (idp['sso-type'] === 'SAML') {
    if (body.claims !== undefined) throw new ServiceError('invalid-request', 'A SAML IdP is tested with name-id and attributes, not claims');
    if (!body['name-id']) throw new ServiceError('invalid-request', 'name-id is required to test a SAML IdP');
    return { ...base, protocol: 'saml', subject: body['name-id'], attributes: body.attributes ?? {} };
  }
  if (body.attributes !== undefined || body['name-id'] !== undefined) throw new ServiceError('invalid-request', 'An OIDC IdP is tested with claims, not name-id/attributes');
  const sub = (body.claims as Record<string, unknown> | undefined)?.['sub'];
  if (typeof sub !== 'string' || sub === '') throw new ServiceError('invalid-request', 'claims.sub (a string) is required to test an OIDC IdP');
  return { ...base, protocol: 'oidc', subject: sub, claims: body.claims ?? {} };
}

export function jitTestRoute(runtime: Runtime) {
  return async function routes(app: FastifyInstance): Promise<void> {
    app.post<{ Params: { id: string }; Body: JitTestRequest }>(
      '/idps/:id/jit-test',
      {
        config: { right: 'admin' },
        schema: {
          tags: ['IdP configuration'],
          summary: 'Dry run: what a sample login would do (mapped user, outcome, diff, mapping errors); writes nothing',
          params: { type: 'object', additionalProperties: false, required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 63 } } },
          body: ref('http/jit-test.schema.json#/$defs/JitTestRequest'),
          response: { 200: ref('http/jit-test.schema.json#/$defs/JitTestResult') },
        },
      },
      async (request) => {
        const { id } = request.params;
        const state = runtime.registry.state(id);
        if (state.status !== 'active') throw new ServiceError('idp-not-found', `No IdP with id ${id}`);
        let idp = state.idp;
        if (request.body.idp) {
          // Validates the proposal exactly as PATCH would, without appending anything.
          const [event] = decideIdp({ type: 'UpdateIdp', data: { id, patch: request.body.idp, replace: false } }, state);
          if (event?.type === 'IdpUpdated') idp = event.data.idp;
        }
        const now = runtime.now();
        return dryRunLogin(runtime.store, idp, sampleLogin(idp, request.body, now), now);
      },
    );
  };
}
