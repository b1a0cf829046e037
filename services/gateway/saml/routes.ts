/**
 * The SAML service provider: the AuthnRequest (redirect binding), the assertion consumers
 * (/sso/{idpId}/saml/acs and Atlassian's /plugins/servlet/samlconsumer) and SP metadata.
 */
import { randomBytes } from 'node:crypto';
import { generateServiceProviderMetadata } from '@node-saml/node-saml';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { IdpStored } from '../../../schemas/types.gen.js';
import type { Runtime } from '../../runtime.js';
import { ServiceError } from '../../shared/errors.js';
import { bindLogin, checkLoginBinding } from '../binding.js';
import { failLogin, finishLogin } from '../loginFlow.js';
import '../routeConfig.js';
import { readPostedResponse, responseEnvelope } from './inspectResponse.js';
import {
  ATLASSIAN_SAML_CONSUMER_PATH,
  parseSamlRequestRecord,
  rememberingCache,
  samlAcsPath,
  samlAcsUrl,
  samlFor,
  samlMode,
  samlSpEntityId,
  SAML_REQUEST_SCOPE,
} from './samlConfig.js';
import { verifySamlResponse } from './verifyResponse.js';

/** Form bodies of the consumers: a large response with many groups is ~100 KB of base64. */
export const SAML_BODY_LIMIT = 384 * 1024;
const ACTOR = 'gateway:saml' as const;

/** Redirects the browser to the IdP with a fresh AuthnRequest; its id is remembered cluster-wide. */
export async function startSamlLogin(runtime: Runtime, idp: IdpStored, returnTo: string, reply: FastifyReply): Promise<FastifyReply> {
  const requestId = `_${randomBytes(20).toString('hex')}`;
  const binding = bindLogin(reply, 'saml', requestId, runtime.config.publicUrl);
  const cache = rememberingCache(runtime.oneTimeTokens, runtime.now, { idpId: idp.id, returnTo, ...(binding ? { binding } : {}) });
  // RelayState carries the request id: it lets /plugins/servlet/samlconsumer find the IdP
  // without reading the unverified XML first.
  const url = await samlFor(idp, runtime.config.publicUrl, cache, requestId).getAuthorizeUrlAsync(requestId, undefined, {});
  return reply.header('cache-control', 'no-store').redirect(url, 302);
}

function samlIdp(runtime: Runtime, idpId: string): IdpStored {
  const idp = runtime.registry.get(idpId);
  if (!idp || idp['sso-type'] !== 'SAML') throw new ServiceError('idp-not-found', 'There is no SAML identity provider with this id');
  return idp;
}

/** The HTTP-POST binding is a form post; a JSON (or any other) body is not a SAML response. */
function assertFormPost(request: FastifyRequest): void {
  const type = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') {
    throw new ServiceError('unsupported-media-type', 'A SAML response must be posted as a form (application/x-www-form-urlencoded).');
  }
}

async function consume(runtime: Runtime, request: FastifyRequest, reply: FastifyReply, idp: IdpStored, path: string): Promise<FastifyReply> {
  assertFormPost(request);
  const posted = readPostedResponse(request.body);
  const verified = await verifySamlResponse(runtime, idp, posted, { receivedAt: `${runtime.config.publicUrl}${path}`, relayState: posted.relayState });
  checkLoginBinding(request, reply, verified.requestId, verified.request.binding);
  return finishLogin(runtime, request, reply, { login: verified.login, returnTo: verified.request.returnTo }, ACTOR);
}

/** The IdP a post to the Atlassian consumer answers, from our own record of the request. */
async function routedIdp(runtime: Runtime, body: unknown): Promise<string> {
  const posted = readPostedResponse(body);
  const requestId = posted.relayState ?? responseEnvelope(posted.xml).inResponseTo;
  const record = requestId === undefined ? undefined : parseSamlRequestRecord(await runtime.oneTimeTokens.peek(SAML_REQUEST_SCOPE, requestId));
  if (!record) {
    // IdP-initiated (unsolicited) responses are refused: nothing ties them to a browser or a request.
    throw new ServiceError('login-rejected', 'This sign-in response does not answer a sign-in started here, or it took too long. Please start again.');
  }
  return record.idpId;
}

export function samlRoutes(runtime: Runtime) {
  const pageConfig = { right: 'none' as const, ssoPage: {} };
  const acsConfig = { right: 'none' as const, ssoPage: { recordAs: ACTOR } };
  const docs = (summary: string) => ({ tags: ['sso'], summary, security: [] });
  return async function routes(app: FastifyInstance): Promise<void> {
    app.post<{ Params: { idpId: string }; Body: unknown }>(
      '/sso/:idpId/saml/acs',
      { config: acsConfig, bodyLimit: SAML_BODY_LIMIT, schema: docs('SAML assertion consumer (HTTP-POST binding)') },
      async (request, reply) => {
        const { idpId } = request.params;
        try {
          return await consume(runtime, request, reply, samlIdp(runtime, idpId), samlAcsPath(idpId));
        } catch (error) {
          return failLogin(runtime, request, reply, error, { idpId, actor: ACTOR });
        }
      },
    );

    app.post<{ Body: unknown }>(
      ATLASSIAN_SAML_CONSUMER_PATH,
      { config: acsConfig, bodyLimit: SAML_BODY_LIMIT, schema: docs("SAML assertion consumer at Atlassian's path (the IdP is found from the request)") },
      async (request, reply) => {
        let idpId: string | undefined;
        try {
          assertFormPost(request);
          idpId = await routedIdp(runtime, request.body);
          return await consume(runtime, request, reply, samlIdp(runtime, idpId), ATLASSIAN_SAML_CONSUMER_PATH);
        } catch (error) {
          return failLogin(runtime, request, reply, error, { idpId, actor: ACTOR });
        }
      },
    );

    app.get<{ Params: { idpId: string } }>(
      '/sso/:idpId/saml/metadata',
      { config: pageConfig, schema: docs('SAML service provider metadata') },
      async (request, reply) => {
        const idp = samlIdp(runtime, request.params.idpId);
        const { publicUrl } = runtime.config;
        const xml = generateServiceProviderMetadata({
          issuer: samlSpEntityId(idp, publicUrl),
          callbackUrl: samlAcsUrl(idp, publicUrl),
          identifierFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
          wantAssertionsSigned: samlMode(idp) !== 'response',
        });
        return reply.type('application/samlmetadata+xml; charset=utf-8').send(xml);
      },
    );
  };
}

