/**
 * Route schemas come from schemas/: bodies are validated by the shared strict Ajv, query strings
 * and params by a twin that coerces strings to the declared types. Responses are serialized by
 * fast-json-stringify from the same files, so undeclared fields (secrets) never leave.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { SCHEMA_BASE, getAjv, schemaDocuments } from '../../../schemas/registry.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

/** A $ref to a schema in schemas/, e.g. ref('http/users.schema.json#/$defs/JitUser'). */
export function ref(id: string): { $ref: string } {
  return { $ref: `${SCHEMA_BASE}${id}` };
}

let coercing: Ajv2020 | undefined;
function coercingAjv(): Ajv2020 {
  if (!coercing) {
    coercing = new Ajv2020({ coerceTypes: 'array', useDefaults: true, strict: true, strictRequired: false, allowUnionTypes: true });
    addFormats(coercing);
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
