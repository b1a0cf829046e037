/** Route configuration of the gateway's browser routes (Fastify type augmentation). */
import type { GatewayActor } from './rejections.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * Set on routes a browser navigates to: errors become HTML pages instead of JSON. With
     * `recordAs` (the SAML consumers), failures before the handler runs (a body too large or
     * compressed) are recorded as LoginRejected for the IdP in the path, with this actor.
     */
    ssoPage?: Readonly<{ recordAs?: GatewayActor }>;
  }
}
