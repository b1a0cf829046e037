/**
 * GET /healthz (liveness) and GET /readyz: the event store answers, Kafka answers (when
 * configured) and the projection lag is within JIT_PROJECTION_MAX_LAG (when this process runs the
 * projections), in-process or from Kafka. Every check has a short bound, so a probe never hangs.
 */
import type { FastifyInstance } from 'fastify';
import type { Runtime } from '../../runtime.js';
import { KAFKA_PROBE_TIMEOUT_MS, withTimeout } from '../../shared/metrics/lag.js';

type Check = { ok: boolean; detail?: string };

const STORE_TIMEOUT_MS = 3000;

const failure = (error: unknown): Check => ({ ok: false, detail: error instanceof Error ? error.message : 'unreachable' });

async function storeCheck(runtime: Runtime): Promise<Check> {
  try {
    await withTimeout(runtime.store.headPosition(), STORE_TIMEOUT_MS, 'the event store');
    return { ok: true };
  } catch (error) {
    return failure(error);
  }
}

async function kafkaCheck(runtime: Runtime): Promise<Check | undefined> {
  if (!runtime.kafka) return undefined;
  return (await runtime.kafka.reachable(KAFKA_PROBE_TIMEOUT_MS)) ? { ok: true } : { ok: false, detail: `the cluster did not answer within ${KAFKA_PROBE_TIMEOUT_MS} ms` };
}

async function projectionCheck(runtime: Runtime): Promise<Check | undefined> {
  const probe = runtime.probes.projection;
  if (!probe || !runtime.config.services.has('projections')) return undefined;
  try {
    const lag = await probe();
    return { ok: lag <= runtime.config.projectionMaxLag, detail: `lag ${lag} events` };
  } catch (error) {
    return failure(error);
  }
}

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
        const [store, kafka, projection] = await Promise.all([storeCheck(runtime), kafkaCheck(runtime), projectionCheck(runtime)]);
        const checks: Record<string, Check> = { 'event-store': store };
        if (kafka) checks['kafka'] = kafka;
        if (projection) checks['projection'] = projection;
        const ok = Object.values(checks).every((c) => c.ok);
        return reply.status(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', checks });
      },
    );
  };
}
