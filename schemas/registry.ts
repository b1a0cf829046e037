/**
 * Loads every schema in schemas/ into one Ajv (JSON Schema 2020-12) instance, so that config,
 * HTTP bodies and event payloads are validated from the same files.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Ajv2020, type ErrorObject, type FormatDefinition, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { SCHEMA_DIR } from './files.js';

// ajv-formats is CommonJS; under NodeNext its default export arrives wrapped.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

/**
 * ajv-formats with one restriction: a date-time must also be an instant that Date represents.
 * RFC 3339 allows leap seconds (23:59:60) and Date.parse does not; such a value would reach the
 * SQL filters, as-of and the projection as an Invalid Date.
 */
export function addSchemaFormats(target: Ajv2020): Ajv2020 {
  addFormats(target);
  const rfc3339 = target.formats['date-time'] as FormatDefinition<string>;
  const validRfc3339 = rfc3339.validate as (value: string) => boolean;
  target.addFormat('date-time', { ...rfc3339, validate: (value: string) => validRfc3339(value) && Number.isFinite(Date.parse(value)) });
  return target;
}

export type SchemaDocument = { $id: string; [key: string]: unknown };

function loadSchemaDocuments(): SchemaDocument[] {
  const entries = readdirSync(SCHEMA_DIR, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.schema.json'))
    .map((e) => relative(SCHEMA_DIR, join(e.parentPath, e.name)))
    .sort()
    .map((file) => JSON.parse(readFileSync(join(SCHEMA_DIR, file), 'utf8')) as SchemaDocument);
}

let documents: SchemaDocument[] | undefined;
let ajv: Ajv2020 | undefined;

/** Rewrites relative $refs against the document's $id (fast-json-stringify does not resolve them). */
function absoluteRefs(value: unknown, base: string): unknown {
  if (Array.isArray(value)) return value.map((v) => absoluteRefs(v, base));
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, v]) => [
      key,
      key === '$ref' && typeof v === 'string' ? new URL(v, base).href : absoluteRefs(v, base),
    ]),
  );
}

/** Every schema document, parsed once, with absolute $refs. */
export function schemaDocuments(): readonly SchemaDocument[] {
  documents ??= loadSchemaDocuments().map((doc) => absoluteRefs(doc, doc.$id) as SchemaDocument);
  return documents;
}

/** The shared validator: strict, all formats, no coercion, no defaults injected. */
export function getAjv(): Ajv2020 {
  if (!ajv) {
    ajv = addSchemaFormats(new Ajv2020({ allErrors: false, strict: true, strictRequired: false, allowUnionTypes: true }));
    for (const doc of schemaDocuments()) ajv.addSchema(doc);
  }
  return ajv;
}

export const SCHEMA_BASE = 'https://schemas.jit-provisioning.dev/';

/** A compiled validator for a schema ($id or $id#/$defs/Name, relative ids resolved on SCHEMA_BASE). */
export function validatorFor<T>(ref: string): ValidateFunction<T> {
  const id = ref.startsWith('https://') ? ref : `${SCHEMA_BASE}${ref}`;
  const validate = getAjv().getSchema<T>(id);
  if (!validate) throw new Error(`unknown schema ${id}`);
  return validate;
}

/** One readable line per validation error: where, and what was expected. */
export function describeErrors(errors: readonly ErrorObject[] | null | undefined, root = 'body'): string[] {
  return (errors ?? []).map((e) => {
    const where = `${root}${e.instancePath.replaceAll('/', '.')}`;
    switch (e.keyword) {
      case 'additionalProperties':
        return `${where} has an unknown field '${String(e.params['additionalProperty'])}'`;
      case 'required':
        return `${where} is missing '${String(e.params['missingProperty'])}'`;
      case 'not':
        return `${where} has a value that is not allowed here`;
      case 'enum':
        return `${where} must be one of ${(e.params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
      default:
        return `${where} ${e.message ?? 'is not valid'}`;
    }
  });
}
