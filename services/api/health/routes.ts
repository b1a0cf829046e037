/** GET /healthz (liveness) and GET /readyz (store reachable, projections caught up). */
import type { FastifyInstance } from 'fastify';
import type { Runtime } from '../../runtime.js';

const Health = {
  type: 'object',
  additionalProperties: false,
  required: ['status'],
  properties: {
    status: { type: 'string', enum: ['ok', 'unavailable'] },
    checks: {
      type: 'object',
      additionalProperties: { type: 'object', additionalProperties: false, required: ['ok'], properties: { ok: { type: 'boolean' }, detail: { type: 'string' } } },
    },
  },
} as const;

export function healthRoutes(runtime: Runtime) {
  return async function routes(app: FastifyInstance): Promise<void> {
    app.get('/healthz', { config: { right: 'none' }, schema: { tags: ['Operations'], summary: 'Liveness', response: { 200: Health } } }, async () => ({ status: 'ok' }));
    app.get(
      '/readyz',
      { config: { right: 'none' }, schema: { tags: ['Operations'], summary: 'Readiness: dependencies reachable, projection lag bounded', response: { 200: Health, 503: Health } } },
      async (_request, reply) => {
        const checks: Record<string, { ok: boolean; detail?: string }> = {};
        let head = 0;
        try {
          head = await runtime.store.headPosition();
          checks['event-store'] = { ok: true };
        } catch (error) {
          checks['event-store'] = { ok: false, detail: error instanceof Error ? error.message : 'unreachable' };
        }
        if (runtime.projector) {
          const lag = Math.max(0, head - runtime.projector.position());
          checks['projection'] = { ok: lag <= runtime.config.projectionMaxLag, detail: `lag ${lag} events` };
        }
        const ok = Object.values(checks).every((c) => c.ok);
        return reply.status(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', checks });
      },
    );
  };
}
