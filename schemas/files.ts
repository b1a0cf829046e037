import { readdir } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Absolute path of the schemas/ folder, wherever the code runs from (sources or dist/). */
export const SCHEMA_DIR = findSchemaDir();

function findSchemaDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // dist/schemas/files.js → <root>/schemas; schemas/files.ts → itself
  return here.includes(`${join('dist', 'schemas')}`) ? join(here, '..', '..', 'schemas') : here;
}

/** Every *.schema.json below schemas/, as paths relative to it, in a stable order. */
export async function listSchemaFiles(): Promise<string[]> {
  const entries = await readdir(SCHEMA_DIR, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.schema.json'))
    .map((e) => relative(SCHEMA_DIR, join(e.parentPath, e.name)))
    .sort();
}
