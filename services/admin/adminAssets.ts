/**
 * The admin page's static files (services/admin/assets/), read once at start and kept in memory:
 * a dozen small files, served from an allow-list, so no request can name a path on disk.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type AdminAsset = Readonly<{ body: Buffer; type: string }>;

export type AdminAssets = Readonly<{
  /** Changes whenever any file changes: asset URLs carry it, so browsers may cache them for good. */
  version: string;
  /** index.html with its asset URLs filled in. */
  page: string;
  files: ReadonlyMap<string, AdminAsset>;
}>;

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** services/admin/assets, beside this module in the sources; from dist/services/admin, the sources' copy. */
export function adminAssetsDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const beside = join(here, 'assets');
  return existsSync(beside) ? beside : join(here, '..', '..', '..', 'services', 'admin', 'assets');
}

/** The assets, or undefined when the folder is missing (a packaging mistake the caller reports). */
export function loadAdminAssets(dir = adminAssetsDir()): AdminAssets | undefined {
  if (!existsSync(join(dir, 'index.html'))) return undefined;
  const files = new Map<string, AdminAsset>();
  const hash = createHash('sha256');
  for (const name of readdirSync(dir).sort()) {
    const type = TYPES[name.slice(name.lastIndexOf('.'))];
    if (!type || !/^[a-zA-Z][a-zA-Z0-9-]*\.[a-z]+$/.test(name)) continue;
    const body = readFileSync(join(dir, name));
    files.set(name, { body, type });
    hash.update(name).update(body);
  }
  const template = readFileSync(join(dir, 'index.html'), 'utf8');
  const version = hash.update(template).digest('hex').slice(0, 12);
  return { version, page: template.replaceAll('{{assets}}', `/admin/assets/${version}`), files };
}
