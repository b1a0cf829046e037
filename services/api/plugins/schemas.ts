/**
 * Route schemas come from schemas/: bodies are validated by the shared strict Ajv, query strings
 * and params by a twin that coerces strings to the declared types. Responses are serialized by
 * fast-json-stringify from the same files, so undeclared fields (secrets) never leave.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { FastifyInstance, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import { SCHEMA_BASE, addSchemaFormats, getAjv, schemaDocuments } from '../../../schemas/registry.js';

/** A $ref to a schema in schemas/, e.g. ref('http/users.schema.json#/$defs/JitUser'). */
export function ref(id: string): { $ref: string } {
  return { $ref: `${SCHEMA_BASE}${id}` };
}

const NO_QUERY = { type: 'object', additionalProperties: false } as const;

/** onRoute hook: a route that declares no query parameters refuses any, so a typo such as ?limt=10 is not ignored. */
export function refuseUndeclaredQuery(route: RouteOptions): void {
  route.schema = { ...route.schema, querystring: route.schema?.querystring ?? NO_QUERY };
}

let coercing: Ajv2020 | undefined;
function coercingAjv(): Ajv2020 {
  if (!coercing) {
    coercing = addSchemaFormats(new Ajv2020({ coerceTypes: 'array', useDefaults: true, strict: true, strictRequired: false, allowUnionTypes: true }));
    for (const doc of schemaDocuments()) coercing.addSchema(doc);
  }
  return coercing;
}

async function schemasPlugin(app: FastifyInstance): Promise<void> {
  for (const doc of schemaDocuments()) app.addSchema(doc);
  app.setValidatorCompiler(({ schema, httpPart }) =>
    httpPart === 'body' ? getAjv().compile(schema) : coercingAjv().compile(schema),
  );
}

export default fp(schemasPlugin, { name: 'jit-schemas', fastify: '5.x' });
