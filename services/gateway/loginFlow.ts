/**
 * The end of every browser login, whatever the protocol: a verified login becomes a
 * LoginSucceeded and goes through provisionOnLogin synchronously (JIT on every login); a
 * provisioned, updated or unchanged user gets the session cookie and a redirect to the safe
 * returnTo, a rejected one an error page. Failures before that point (verification) are recorded
 * on the IdP's gateway stream and shown as an error page too.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { describeErrors, validatorFor } from '../../schemas/registry.js';
import type { LoginSucceeded } from '../../schemas/types.gen.js';
import { provisionOnLogin } from '../provisioning/login/provisionOnLogin.js';
import type { Runtime } from '../runtime.js';
import { ERROR_CATALOGUE, ServiceError } from '../shared/errors.js';
import { reasonText, sendErrorPage } from './errorPage.js';
import { invalidLogin, isInvalidLogin, problemCode, recordInvalidLogin, type GatewayActor } from './rejections.js';
import { safeReturnTo } from './returnTo.js';
import { sessionFor } from './session/session.js';

const validateLogin = validatorFor<LoginSucceeded>('login-succeeded.schema.json');

export type VerifiedLogin = Readonly<{ login: LoginSucceeded; returnTo: string }>;

export async function finishLogin(runtime: Runtime, request: FastifyRequest, reply: FastifyReply, verified: VerifiedLogin, actor: GatewayActor): Promise<FastifyReply> {
  const { login } = verified;
  // The gateway builds this itself, but from IdP data: an oversized or odd attribute set must be
  // refused like any other malformed login rather than reach the decider.
  if (!validateLogin(login as unknown)) {
    throw invalidLogin(`${login.protocol}-login-invalid`, `The verified login does not fit LoginSucceeded: ${describeErrors(validateLogin.errors, 'login').join('; ')}`);
  }
  const result = await provisionOnLogin({ ...runtime, idps: runtime.registry }, login, { correlationId: request.id, actor });
  if (result.outcome === 'rejected') {
    request.log.info({ idp: login.idpId, reason: result.reason }, 'SSO login rejected');
    return sendErrorPage(reply, { status: 403, title: 'Sign-in refused', text: reasonText(result.reason), code: result.reason, requestId: request.id });
  }
  request.session.regenerate();
  request.session.set('sso', sessionFor(result.user, login, runtime.now(), runtime.config.adminGroups));
  request.log.info({ idp: login.idpId, outcome: result.outcome, userId: result.userId }, 'SSO login');
  const target = safeReturnTo(verified.returnTo, { publicUrl: runtime.config.publicUrl, allowlist: runtime.config.returnToAllowlist });
  return reply.header('cache-control', 'no-store').redirect(target, 302);
}

/**
 * Turns anything thrown by a browser login route into an error page. Verification failures for a
 * known IdP are recorded as LoginRejected first; 5xx details go to the log only.
 */
export async function failLogin(
  runtime: Runtime,
  request: FastifyRequest,
  reply: FastifyReply,
  error: unknown,
  context: { idpId: string | undefined; actor: GatewayActor | undefined },
): Promise<FastifyReply> {
  const serviceError = ServiceError.isInstance(error) ? error : new ServiceError('internal-error', undefined, { cause: error });
  if (isInvalidLogin(serviceError)) {
    request.log.info({ idp: context.idpId, problems: serviceError.problems, err: serviceError.cause }, 'SSO login failed verification');
    if (context.actor !== undefined && context.idpId !== undefined && runtime.registry.get(context.idpId)) {
      await recordInvalidLogin(runtime, context.idpId, serviceError, { correlationId: request.id, actor: context.actor });
    }
    return sendErrorPage(reply, { status: 403, title: 'Sign-in failed', text: reasonText('invalid-login'), code: problemCode(serviceError), requestId: request.id });
  }
  if (serviceError.statusCode >= 500) request.log.error({ err: error }, 'SSO login failed');
  else request.log.info({ code: serviceError.code, detail: serviceError.message }, 'SSO login refused');
  // 5xx: the catalogue's fixed wording only (a wrapped message could carry internals).
  const text = serviceError.statusCode >= 500 ? ERROR_CATALOGUE[serviceError.code].message : serviceError.message;
  return sendErrorPage(reply, { status: serviceError.statusCode, title: 'Sign-in failed', text, code: serviceError.code, requestId: request.id });
}
