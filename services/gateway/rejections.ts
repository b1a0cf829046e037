/**
 * Logins that fail verification: no identity can be trusted, so the rejection is recorded on the
 * IdP's gateway stream (LoginRejected without user-id, reason invalid-login) for auditors, and
 * the browser gets an error page.
 */
import { gatewayStreamId } from '../../events/catalogue.js';
import type { Problem } from '../../schemas/types.gen.js';
import type { Runtime } from '../runtime.js';
import { ServiceError } from '../shared/errors.js';

const MAX_MESSAGE = 500;

const clip = (text: string): string => (text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE - 1)}…` : text);

/**
 * A login that did not pass verification. `code` is a stable problem code such as
 * saml-signature-invalid; `detail` is for the audit log only (it may quote the response).
 */
export function invalidLogin(code: string, detail: string, cause?: unknown): ServiceError {
  return new ServiceError('login-rejected', 'The login could not be verified', {
    reason: 'invalid-login',
    problems: [{ code, message: clip(detail) }],
    ...(cause === undefined ? {} : { cause }),
  });
}

export function isInvalidLogin(error: unknown): error is ServiceError & { problems: readonly Problem[] } {
  return ServiceError.isInstance(error) && error.reason === 'invalid-login' && error.problems !== undefined;
}

export function problemCode(error: ServiceError): string | undefined {
  return error.problems?.[0]?.code;
}

export type GatewayActor = 'gateway:saml' | 'gateway:oidc';

/** Appends LoginRejected(invalid-login) to gateway-<idpId>. */
export async function recordInvalidLogin(
  runtime: Runtime,
  idpId: string,
  error: ServiceError,
  context: { correlationId: string; actor: GatewayActor },
): Promise<void> {
  const problems = (error.problems ?? []).slice(0, 50).map((p) => ({ ...p, message: clip(p.message) }));
  await runtime.store.appendToStream(
    gatewayStreamId(idpId),
    [
      {
        type: 'LoginRejected',
        eventId: runtime.newId(),
        data: { 'idp-id': idpId, reason: 'invalid-login', message: clip(problems[0]?.message ?? error.message), problems },
        metadata: { correlationId: context.correlationId, actor: context.actor, schemaVersion: 1 },
      },
    ],
    { expectedRevision: 'any' },
  );
}
