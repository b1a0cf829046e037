/**
 * The OIDC relying party: the authorization request (code flow, PKCE S256, state, nonce) and the
 * callbacks (/sso/{idpId}/oidc/callback and Atlassian's /plugins/servlet/oidc/callback).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import * as client from 'openid-client';
import type { IdpStored } from '../../../schemas/types.gen.js';
import { jitSettings } from '../../provisioning/user/decide.js';
import type { Runtime } from '../../runtime.js';
import { ServiceError } from '../../shared/errors.js';
import { bindLogin, checkLoginBinding } from '../binding.js';
import { failLogin, finishLogin } from '../loginFlow.js';
import { invalidLogin } from '../rejections.js';
import '../routeConfig.js';
import { oidcConfiguration } from './clientConfig.js';
import { OIDC_STATE_SCOPE, OIDC_STATE_TTL_MS, parseOidcStateRecord, type OidcStateRecord } from './stateRecord.js';
import { verifyOidcCallback } from './verifyCallback.js';

const ACTOR = 'gateway:oidc' as const;
export const ATLASSIAN_OIDC_CALLBACK_PATH = '/plugins/servlet/oidc/callback';
export const oidcCallbackPath = (idpId: string): string => `/sso/${idpId}/oidc/callback`;

/** `openid`, then the IdP's additional-scopes and Atlassian's additional-openid-scopes, once each. */
export function oidcScopes(idp: IdpStored): string {
  return [...new Set(['openid', ...(idp['additional-scopes'] ?? []), ...jitSettings(idp)['additional-openid-scopes']])].join(' ');
}

export async function startOidcLogin(runtime: Runtime, idp: IdpStored, returnTo: string, reply: FastifyReply): Promise<FastifyReply> {
  const config = await oidcConfiguration(idp);
  const state = client.randomState();
  const nonce = client.randomNonce();
  const codeVerifier = client.randomPKCECodeVerifier();
  const redirectUri = `${runtime.config.publicUrl}${idp['atlassian-callback-paths'] ? ATLASSIAN_OIDC_CALLBACK_PATH : oidcCallbackPath(idp.id)}`;
  const binding = bindLogin(reply, 'oidc', state, runtime.config.publicUrl);
  const record: OidcStateRecord = { idpId: idp.id, nonce, codeVerifier, redirectUri, returnTo, ...(binding ? { binding } : {}) };
  const stored = await runtime.oneTimeTokens.remember(OIDC_STATE_SCOPE, state, new Date(runtime.now().getTime() + OIDC_STATE_TTL_MS), JSON.stringify(record));
  if (!stored) throw new ServiceError('internal-error', 'state collision');
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    response_type: 'code',
    scope: oidcScopes(idp),
    state,
    nonce,
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
  });
  return reply.header('cache-control', 'no-store').redirect(url.href, 302);
}

type CallbackQuery = Record<string, string | string[] | undefined>;

const single = (value: string | string[] | undefined): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

/** Reports the IdP once the state has told us which one the callback belongs to. */
type Audit = { idpId: string | undefined };

async function callback(runtime: Runtime, request: FastifyRequest<{ Querystring: CallbackQuery }>, reply: FastifyReply, path: string, audit: Audit): Promise<FastifyReply> {
  const state = single(request.query['state']);
  if (!state) throw invalidLogin('oidc-state-missing', 'The callback has no state');
  const record = parseOidcStateRecord(await runtime.oneTimeTokens.consume(OIDC_STATE_SCOPE, state));
  if (!record) throw invalidLogin('oidc-state-invalid', 'The state is unknown, expired or was already used');
  if (audit.idpId !== undefined && audit.idpId !== record.idpId) {
    throw invalidLogin('oidc-state-wrong-idp', `The state belongs to IdP ${record.idpId}, not ${audit.idpId}`);
  }
  audit.idpId = record.idpId;
  if (record.redirectUri !== `${runtime.config.publicUrl}${path}`) {
    throw invalidLogin('oidc-redirect-uri-mismatch', `The callback arrived at ${path}, not at the redirect_uri of its request`);
  }
  checkLoginBinding(request, reply, state, record.binding);
  const error = single(request.query['error']);
  if (error !== undefined) {
    // Only the error code is kept: error_description is free text chosen by whoever built the URL.
    const code = /^[\x20-\x7e]{1,64}$/.test(error) ? error : 'unprintable';
    throw invalidLogin('oidc-error-response', `The IdP answered error=${code}`);
  }
  const idp = runtime.registry.get(record.idpId);
  if (!idp || idp['sso-type'] !== 'OIDC') throw new ServiceError('idp-not-found', 'The identity provider of this sign-in no longer exists');
  const rawQuery = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : '';
  const login = await verifyOidcCallback(runtime, idp, { state, record, rawQuery }, (detail) => request.log.warn({ idp: idp.id, detail }, 'userinfo request failed'));
  return finishLogin(runtime, request, reply, { login, returnTo: record.returnTo }, ACTOR);
}

export function oidcRoutes(runtime: Runtime) {
  const config = { right: 'none' as const, ssoPage: {} };
  const querystring = { type: 'object', additionalProperties: { type: 'string', maxLength: 8192 } } as const;
  const schema = (summary: string) => ({ tags: ['sso'], summary, security: [], querystring });
  return async function routes(app: FastifyInstance): Promise<void> {
    app.get<{ Params: { idpId: string }; Querystring: CallbackQuery }>(
      '/sso/:idpId/oidc/callback',
      { config, schema: schema('OIDC redirect URI (authorization code response)') },
      async (request, reply) => {
        const audit: Audit = { idpId: request.params.idpId };
        try {
          return await callback(runtime, request, reply, oidcCallbackPath(request.params.idpId), audit);
        } catch (error) {
          return failLogin(runtime, request, reply, error, { idpId: audit.idpId, actor: ACTOR });
        }
      },
    );

    app.get<{ Querystring: CallbackQuery }>(
      ATLASSIAN_OIDC_CALLBACK_PATH,
      { config, schema: schema("OIDC redirect URI at Atlassian's path (the IdP is found from the state)") },
      async (request, reply) => {
        const audit: Audit = { idpId: undefined };
        try {
          return await callback(runtime, request, reply, ATLASSIAN_OIDC_CALLBACK_PATH, audit);
        } catch (error) {
          return failLogin(runtime, request, reply, error, { idpId: audit.idpId, actor: ACTOR });
        }
      },
    );
  };
}
