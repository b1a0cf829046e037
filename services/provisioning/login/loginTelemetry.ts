/**
 * What every login leaves in the metrics and the log, whichever door it came through (HTTP, SSO
 * gateway, Kafka): provisionOnLogin reports each outcome or error here with its duration.
 */
import type { Logger } from 'pino';
import type { LoginSucceeded } from '../../../schemas/types.gen.js';
import { ServiceError } from '../../shared/errors.js';
import type { JitMetrics } from '../../shared/metrics/metrics.js';
import type { LoginContext, LoginResult } from './provisionOnLogin.js';

export type LoginObservation = Readonly<{ login: LoginSucceeded; context: LoginContext; seconds: number } & ({ result: LoginResult } | { error: unknown })>;

export type LoginObserver = (observation: LoginObservation) => void;

/**
 * Counts and logs logins. The `idp` label takes only ids of configured IdPs (anything else is
 * `unknown`), so a caller cannot grow the label set without bound. The log line carries the
 * login's ids, never its attributes or claims.
 */
export function loginTelemetry(deps: { metrics: JitMetrics; logger: Logger; knownIdp: (idpId: string) => boolean }): LoginObserver {
  const base = deps.logger.child({ component: 'provisioning' });
  return (observation) => {
    try {
      const { login, context, seconds } = observation;
      const idp = deps.knownIdp(login.idpId) ? login.idpId : 'unknown';
      const log = base.child({ loginId: login.loginId, correlationId: context.correlationId, idpId: idp });
      const durationMs = Math.round(seconds * 1000);
      if ('result' in observation) {
        const { result } = observation;
        const reason = result.outcome === 'rejected' ? result.reason : '';
        deps.metrics.logins.inc({ outcome: result.outcome, reason, idp });
        deps.metrics.loginDuration.observe({ outcome: result.outcome }, seconds);
        log.info({ outcome: result.outcome, ...(reason ? { reason } : {}), userId: result.userId, durationMs }, `login ${result.outcome}`);
        return;
      }
      const { error } = observation;
      const code = ServiceError.isInstance(error) ? error.code : 'internal-error';
      deps.metrics.logins.inc({ outcome: 'error', reason: code, idp });
      deps.metrics.loginDuration.observe({ outcome: 'error' }, seconds);
      if (ServiceError.isInstance(error) && error.statusCode < 500) log.info({ outcome: 'error', code, durationMs }, 'login refused');
      else log.warn({ outcome: 'error', code, durationMs, err: error }, 'login failed');
    } catch {
      // Telemetry never changes a login's result.
    }
  };
}
