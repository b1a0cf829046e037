/**
 * IdP configuration CRUD with Atlassian's field names. Every change is an event on idp-<id>;
 * client-secret is write-only (the response schema has no such field).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { IdpInput, IdpPatch, IdpStored, IdpView } from '../../../schemas/types.gen.js';
import { ServiceError } from '../../shared/errors.js';
import { createIdp, deleteIdp, updateIdp, type AdminContext } from '../../provisioning/idps/idpCommands.js';
import type { Runtime } from '../../runtime.js';
import { ref } from '../plugins/schemas.js';

const TAG = ['IdP configuration'];
const IdParams = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 63 } },
} as const;
const ListQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    start: { type: 'integer', minimum: 0, default: 0 },
    limit: { description: 'Page size (1-1000); -1 for all (Atlassian).', type: 'integer', minimum: -1, maximum: 1000, not: { const: 0 }, default: 50 },
  },
} as const;

export function toIdpView(runtime: Runtime, idp: IdpStored): IdpView {
  const { 'client-secret': secret, ...rest } = idp;
  return {
    ...rest,
    'last-updated': runtime.registry.lastUpdated(idp.id) ?? new Date(0).toISOString(),
    ...(idp['sso-type'] === 'OIDC' ? { 'client-secret-set': secret !== undefined && secret !== '' } : {}),
  };
}

export function adminContext(request: FastifyRequest): AdminContext {
  return { actor: request.principal?.actor ?? 'admin', correlationId: request.id };
}

function findIdp(runtime: Runtime, id: string): IdpStored {
  const idp = runtime.registry.get(id);
  if (!idp) throw new ServiceError('idp-not-found', `No IdP with id ${id}`);
  return idp;
}

export function idpRoutes(runtime: Runtime) {
  const deps = { store: runtime.store, registry: runtime.registry, newId: runtime.newId };
  return async function routes(app: FastifyInstance): Promise<void> {
    app.get<{ Querystring: { start: number; limit: number } }>(
      '/idps',
      {
        config: { right: 'admin' },
        schema: { tags: TAG, summary: 'List IdP configurations (paged, Atlassian shape)', querystring: ListQuery, response: { 200: ref('idp.schema.json#/$defs/IdpList') } },
      },
      async (request) => {
        const all = runtime.registry.list();
        const { start } = request.query;
        const limit = request.query.limit === -1 ? all.length : request.query.limit;
        const results = all.slice(start, start + limit).map((idp) => toIdpView(runtime, idp));
        return { isLastPage: start + results.length >= all.length, limit: request.query.limit, results, size: results.length, start };
      },
    );
    app.post<{ Body: IdpInput }>(
      '/idps',
      {
        config: { right: 'admin' },
        schema: { tags: TAG, summary: 'Create an IdP configuration', body: ref('idp.schema.json#/$defs/IdpInput'), response: { 201: ref('idp.schema.json#/$defs/IdpView') } },
      },
      async (request, reply) => {
        const idp = await createIdp(deps, request.body, adminContext(request));
        return reply.status(201).header('location', `${(request.url.split('?')[0] ?? '').replace(/\/$/, '')}/${idp.id}`).send(toIdpView(runtime, idp));
      },
    );
    app.get<{ Params: { id: string } }>(
      '/idps/:id',
      { config: { right: 'admin' }, schema: { tags: TAG, summary: 'One IdP configuration', params: IdParams, response: { 200: ref('idp.schema.json#/$defs/IdpView') } } },
      async (request) => toIdpView(runtime, findIdp(runtime, request.params.id)),
    );
    app.patch<{ Params: { id: string }; Body: IdpPatch }>(
      '/idps/:id',
      {
        config: { right: 'admin' },
        schema: {
          tags: TAG,
          summary: 'Change fields of an IdP configuration (jit-configuration merges field by field)',
          params: IdParams,
          body: ref('idp.schema.json#/$defs/IdpPatch'),
          response: { 200: ref('idp.schema.json#/$defs/IdpView') },
        },
      },
      async (request) => toIdpView(runtime, await updateIdp(deps, request.params.id, request.body, adminContext(request))),
    );
    app.delete<{ Params: { id: string } }>(
      '/idps/:id',
      { config: { right: 'admin' }, schema: { tags: TAG, summary: 'Delete an IdP configuration; its users stay', params: IdParams, response: { 204: { type: 'null' } } } },
      async (request, reply) => {
        await deleteIdp(deps, request.params.id, adminContext(request));
        return reply.status(204).send();
      },
    );
  };
}
