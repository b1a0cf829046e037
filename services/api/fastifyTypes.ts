/** Fastify type augmentations of this service, in one place. */
import type {} from '@fastify/swagger';
import type { Principal, Right } from './plugins/auth.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Which bearer-token right the route needs; 'none' for public routes. Every route must say. */
    right?: Right | 'none';
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Who made the request, set by the authorization hook. */
    principal?: Principal;
  }
}
