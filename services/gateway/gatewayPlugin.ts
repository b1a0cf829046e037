/**
 * The SSO gateway (browser logins over SAML 2.0 and OpenID Connect). Registered by buildApp when
 * the process runs the `gateway` service. Cookies, form bodies and sessions are registered in
 * this plugin's own (encapsulated) scope, so the JSON API is unaffected by them.
 */
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import type { FastifyError, FastifyInstance } from 'fastify';
import type { Runtime } from '../runtime.js';
import { ServiceError } from '../shared/errors.js';
import { sendErrorPage } from './errorPage.js';
import { failLogin } from './loginFlow.js';
import { oidcRoutes, startOidcLogin } from './oidc/routes.js';
import { invalidLogin } from './rejections.js';
import { safeReturnTo } from './returnTo.js';
import './routeConfig.js';
import { samlRoutes, SAML_BODY_LIMIT, startSamlLogin } from './saml/routes.js';
import { sessionRoutes } from './session/routes.js';
import { registerSessions } from './session/session.js';

/** Errors of page routes that happen before their handler runs, as catalogue errors. */
function pageError(error: FastifyError, recordAs: string | undefined): ServiceError {
  if (ServiceError.isInstance(error)) return error;
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return recordAs ? invalidLogin('saml-response-too-large', `The form body exceeds ${SAML_BODY_LIMIT} bytes`, error) : new ServiceError('payload-too-large');
  }
  if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return new ServiceError('unsupported-media-type', 'A SAML response must be posted as a form (application/x-www-form-urlencoded).', { cause: error });
  }
  const status = error.statusCode ?? 500;
  if (error.validation || (status >= 400 && status < 500)) return new ServiceError('invalid-request', 'The request is not valid.', { cause: error });
  return new ServiceError('internal-error', undefined, { cause: error });
}

const PublicIdpList = {
  type: 'array',
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['id', 'name', 'button-text'],
    properties: { id: { type: 'string' }, name: { type: 'string' }, 'button-text': { type: 'string' } },
  },
} as const;

export function gatewayPlugin(runtime: Runtime) {
  return async function gateway(app: FastifyInstance): Promise<void> {
    const { publicUrl, returnToAllowlist } = runtime.config;
    await app.register(cookie);
    await app.register(formbody, { bodyLimit: SAML_BODY_LIMIT });
    await registerSessions(app, { secret: runtime.sessionSecret, publicUrl });

    // Request bodies are never inflated: a compressed body (a deflate bomb, or a SAMLResponse
    // someone hopes we decompress) is refused before a byte of it is read.
    app.addHook('onRequest', async (request) => {
      const encoding = request.headers['content-encoding'];
      if (encoding === undefined || encoding.trim().toLowerCase() === 'identity') return;
      const recordAs = request.routeOptions.config.ssoPage?.recordAs;
      throw recordAs
        ? invalidLogin('saml-content-encoding-refused', `Content-Encoding ${encoding.slice(0, 32)} is not accepted`)
        : new ServiceError('unsupported-media-type', 'Compressed request bodies are not accepted.');
    });

    app.setErrorHandler(async (error: FastifyError, request, reply) => {
      const page = request.routeOptions.config.ssoPage;
      // JSON routes (/sso/session, /sso/logout): the application's error handler answers.
      if (!page) throw error;
      const params = request.params as Record<string, unknown> | undefined;
      const idpId = typeof params?.['idpId'] === 'string' ? params['idpId'] : undefined;
      return failLogin(runtime, request, reply, pageError(error, page.recordAs), { idpId, actor: page.recordAs });
    });

    app.get<{ Params: { idpId: string }; Querystring: { returnTo?: string } }>(
      '/sso/:idpId/login',
      {
        config: { right: 'none', ssoPage: {} },
        schema: {
          tags: ['sso'],
          summary: 'Start a browser login at the IdP (SAML AuthnRequest or OIDC authorization code flow with PKCE)',
          security: [],
          querystring: { type: 'object', properties: { returnTo: { type: 'string', description: 'Where to go after the login: same origin, a path, or an allow-listed origin; anything else means /.' } } },
        },
      },
      async (request, reply) => {
        const idp = runtime.registry.get(request.params.idpId);
        if (!idp) throw new ServiceError('idp-not-found', 'There is no identity provider with this id.');
        if (!idp.enabled) {
          return sendErrorPage(reply, { status: 403, title: 'Sign-in unavailable', text: 'This sign-in method is currently disabled.', code: 'idp-disabled', requestId: request.id });
        }
        const returnTo = safeReturnTo(request.query.returnTo, { publicUrl, allowlist: returnToAllowlist });
        return idp['sso-type'] === 'SAML' ? startSamlLogin(runtime, idp, returnTo, reply) : startOidcLogin(runtime, idp, returnTo, reply);
      },
    );

    // Public, for login screens (the admin page's "Sign in with …" buttons): enabled IdPs only,
    // and nothing of their configuration but what such a button shows.
    app.get(
      '/sso/idps',
      {
        config: { right: 'none' },
        schema: { tags: ['sso'], summary: 'The identity providers one can sign in with (id, name, button text)', security: [], response: { 200: PublicIdpList } },
      },
      async (_request, reply) => {
        reply.header('cache-control', 'no-cache');
        return runtime.registry
          .list()
          .filter((idp) => idp.enabled)
          .map((idp) => ({ id: idp.id, name: idp.name, 'button-text': idp['button-text'] || `Sign in with ${idp.name}` }));
      },
    );

    await app.register(samlRoutes(runtime));
    await app.register(oidcRoutes(runtime));
    await app.register(sessionRoutes(runtime));
  };
}
