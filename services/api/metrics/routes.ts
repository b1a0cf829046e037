/**
 * GET /metrics (Prometheus text format) and the per-route HTTP metrics. Public by default, as
 * Prometheus scrapers seldom send credentials; with JIT_METRICS_TOKEN set it needs that bearer
 * token (compared in constant time).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Runtime } from '../../runtime.js';
import { ServiceError } from '../../shared/errors.js';

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

function metricsGuard(token: string | undefined): (request: FastifyRequest) => void {
  if (token === undefined) return () => undefined;
  const expected = digest(token);
  return (request) => {
    const match = /^Bearer[ ]+([\x21-\x7E]{1,4096})\s*$/i.exec(request.headers.authorization ?? '');
    if (!match?.[1]) throw new ServiceError('unauthorized', 'GET /metrics needs the JIT_METRICS_TOKEN bearer token');
    if (!timingSafeEqual(digest(match[1]), expected)) throw new ServiceError('unauthorized', 'The bearer token is not valid');
  };
}

async function metricsPlugin(app: FastifyInstance, { runtime }: { runtime: Runtime }): Promise<void> {
  const { registry, httpRequests, httpDuration } = runtime.metrics;
  // The route pattern, never the raw URL: label values stay few whatever clients send.
  app.addHook('onResponse', async (request, reply) => {
    const labels = { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) };
    httpRequests.inc(labels);
    httpDuration.observe(labels, reply.elapsedTime / 1000);
  });
  const guard = metricsGuard(runtime.config.metricsToken);
  app.get(
    '/metrics',
    {
      config: { right: 'none' },
      schema: {
        tags: ['Operations'],
        summary: 'Prometheus metrics (text exposition format); needs the JIT_METRICS_TOKEN bearer token when that is set',
        security: [{}, { bearer: [] }],
        produces: ['text/plain'],
        response: { 200: { description: 'Prometheus text exposition format 0.0.4', type: 'string' } },
      },
    },
    async (request, reply) => {
      guard(request);
      const text = await registry.metrics();
      return reply.header('cache-control', 'no-store').type(registry.contentType).send(text);
    },
  );
}

/** Registered at the root so that its hook sees every route. */
export const metricsRoutes = fp(metricsPlugin, { name: 'jit-metrics', fastify: '5.x' });
