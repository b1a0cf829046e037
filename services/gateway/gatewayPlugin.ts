/**
 * The SSO gateway (browser logins over SAML 2.0 and OpenID Connect). Registered by buildApp when
 * the process runs the `gateway` service.
 */
import type { FastifyInstance } from 'fastify';
import type { Runtime } from '../runtime.js';

export function gatewayPlugin(runtime: Runtime) {
  return async function gateway(app: FastifyInstance): Promise<void> {
    void runtime;
    void app;
  };
}
