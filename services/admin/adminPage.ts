/**
 * GET /admin: the admin web page (plain HTML, CSS and a few ES modules, no build step) and its
 * assets under /admin/assets/<version>/. The page and its code are public; what it shows comes
 * from the admin API, authorized by a bearer token the page keeps in sessionStorage or by an SSO
 * session of an administrator (see api/plugins/sessionAuth.ts).
 *
 * Every answer carries a strict Content-Security-Policy (scripts and styles from this origin only,
 * nothing inline, Trusted Types so no string can become markup), and may not be framed.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Runtime } from '../runtime.js';
import { ServiceError } from '../shared/errors.js';
import { loadAdminAssets } from './adminAssets.js';

export const ADMIN_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ');

const IMMUTABLE = 'public, max-age=31536000, immutable';

function secureHeaders(reply: FastifyReply): void {
  reply
    .header('content-security-policy', ADMIN_CSP)
    .header('x-frame-options', 'DENY')
    .header('referrer-policy', 'no-referrer')
    .header('x-content-type-options', 'nosniff')
    .header('cross-origin-opener-policy', 'same-origin')
    .header('cross-origin-resource-policy', 'same-origin')
    .header('permissions-policy', 'camera=(), microphone=(), geolocation=(), payment=()');
}

export function adminPage(runtime: Runtime, options: { assetsDir?: string } = {}) {
  return async function routes(app: FastifyInstance): Promise<void> {
    const assets = loadAdminAssets(options.assetsDir);
    if (!assets) {
      // The image or package left services/admin/assets out: say so once, and answer 503 below.
      runtime.logger.error('the admin page assets (services/admin/assets) are missing; GET /admin answers 503');
    }
    app.addHook('onSend', async (_request, reply) => secureHeaders(reply));
    const hidden = { hide: true } as const;

    app.get('/admin', { config: { right: 'none' }, schema: hidden }, async (_request, reply) => {
      if (!assets) throw new ServiceError('unavailable', 'The admin page is not installed on this instance');
      // Always revalidated: the page is small and names the current asset version.
      return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(assets.page);
    });

    app.get<{ Params: { version: string; file: string } }>(
      '/admin/assets/:version/:file',
      { config: { right: 'none' }, schema: hidden },
      async (request, reply) => {
        const asset = assets?.files.get(request.params.file);
        if (!assets || !asset) throw new ServiceError('not-found');
        // A page from before a deploy may ask for an older version: answer today's file, uncached.
        const current = request.params.version === assets.version;
        return reply.type(asset.type).header('cache-control', current ? IMMUTABLE : 'no-cache').send(asset.body);
      },
    );
  };
}
