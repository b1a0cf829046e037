/**
 * buildApp: the Fastify application (admin API, login intake, health, OpenAPI at /docs). It never
 * listens; `jit serve` does. Tests drive it with inject().
 */
import { randomUUID } from 'node:crypto';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance } from 'fastify';
import type { DestinationStream } from 'pino';
import type { Runtime } from '../runtime.js';
import { loggerOptions } from '../shared/logger.js';
import './fastifyTypes.js';
import { healthRoutes } from './health/routes.js';
import { jitTestRoute } from './idps/jitTestRoute.js';
import { idpRoutes } from './idps/routes.js';
import { jitUserRoutes } from './jitUsers/routes.js';
import { loginRoutes } from './logins/routes.js';
import { tokenAuthority } from './plugins/auth.js';
import { sessionAuthority } from './plugins/sessionAuth.js';
import { adminPage } from '../admin/adminPage.js';
import errorHandler, { replyWithError } from './plugins/errorHandler.js';
import schemas, { refuseUndeclaredQuery } from './plugins/schemas.js';
import { userAdminRoutes } from './userAdmin/routes.js';
import { gatewayPlugin } from '../gateway/gatewayPlugin.js';
import { impactRoute } from './idps/impactRoute.js';
import { inactivityRoutes } from './inactivity/routes.js';
import { loginAttributesRoutes } from './loginAttributes/routes.js';
import { metricsRoutes } from './metrics/routes.js';

export type AppOptions = Readonly<{
  /** Admin tokens besides JIT_ADMIN_TOKENS (the embedded mode's generated token). */
  extraAdminTokens?: readonly string[];
  logger?: boolean;
  /** Where the request log goes (default stdout); tests capture it to check what is logged. */
  logStream?: DestinationStream;
}>;

const AUTHCONFIG_PREFIXES = ['/rest/authconfig/1.0', '/rest/authconfig/latest'];
const LOGIN_PREFIXES = ['/rest/jit/1.0', '/rest/jit/latest'];

export async function buildApp(runtime: Runtime, options: AppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger === false ? false : { ...loggerOptions(runtime.config.logLevel), ...(options.logStream ? { stream: options.logStream } : {}) },
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID();
    },
    requestIdHeader: false,
    bodyLimit: 1024 * 1024,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    return503OnClosing: true,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 1024 },
    frameworkErrors: replyWithError,
  });
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  await app.register(errorHandler);
  await app.register(schemas);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'JIT Provisioning Service',
        version: '1.0.0',
        description: 'Just-in-time user provisioning from SAML 2.0 and OpenID Connect logins, event-sourced. Atlassian SSO 2.0 compatible.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(metricsRoutes, { runtime });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list' } });

  const authority = tokenAuthority({
    admin: [...runtime.config.adminTokens, ...(options.extraAdminTokens ?? [])],
    gateway: runtime.config.gatewayTokens,
  });
  // An admin's SSO session cookie (with a CSRF header) also authorizes admin routes.
  const sessions = await sessionAuthority(runtime);
  // Default deny: a route that does not declare its right needs an admin token.
  app.addHook('onRequest', async (request) => {
    const { url, config } = request.routeOptions;
    if (url === undefined || config.right === 'none' || url === '/docs' || url.startsWith('/docs/')) return;
    const right = config.right ?? 'admin';
    request.principal = (await sessions.authorize(request, right)) ?? authority.require(request, right);
  });

  // Every process serves /healthz, /readyz and /metrics; the admin API and the login intake only
  // a process that runs `api`.
  await app.register(healthRoutes(runtime));
  if (runtime.config.services.has('api')) await registerApi(app, runtime);
  if (runtime.config.services.has('api')) await app.register(adminPage(runtime));
  if (runtime.config.services.has('gateway')) await app.register(gatewayPlugin(runtime));
  return app;
}

async function registerApi(app: FastifyInstance, runtime: Runtime): Promise<void> {
  for (const prefix of AUTHCONFIG_PREFIXES) {
    await app.register(
      async (scope) => {
        scope.addHook('onRoute', refuseUndeclaredQuery);
        await scope.register(jitUserRoutes(runtime));
        await scope.register(userAdminRoutes(runtime));
        await scope.register(idpRoutes(runtime));
        await scope.register(jitTestRoute(runtime));
        await scope.register(impactRoute(runtime));
        await scope.register(loginAttributesRoutes(runtime));
      },
      { prefix },
    );
  }
  for (const prefix of LOGIN_PREFIXES) {
    await app.register(
      async (scope) => {
        scope.addHook('onRoute', refuseUndeclaredQuery);
        await scope.register(loginRoutes(runtime));
        await scope.register(inactivityRoutes(runtime));
      },
      { prefix },
    );
  }
}
