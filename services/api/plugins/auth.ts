/**
 * Bearer-token authorization. Tokens are compared as SHA-256 digests with timingSafeEqual, so the
 * time taken reveals neither a token's content nor its length. Admin tokens hold every right.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { ServiceError } from '../../shared/errors.js';

export type Right = 'admin' | 'gateway';
export type Principal = Readonly<{ right: Right; actor: string }>;

type StoredToken = { digest: Buffer; right: Right; actor: string };

const digest = (token: string) => createHash('sha256').update(token, 'utf8').digest();

export type TokenAuthority = {
  /** The principal a request's bearer token identifies, or throws 401. */
  authenticate(request: FastifyRequest): Principal;
  /** Throws 401/403 unless the request holds the right. */
  require(request: FastifyRequest, right: Right): Principal;
};

export function tokenAuthority(tokens: { admin: readonly string[]; gateway: readonly string[] }): TokenAuthority {
  const stored: StoredToken[] = [
    ...tokens.admin.map((t) => ({ digest: digest(t), right: 'admin' as const, actor: `admin:${digest(t).toString('hex').slice(0, 8)}` })),
    ...tokens.gateway.map((t) => ({ digest: digest(t), right: 'gateway' as const, actor: `gateway:${digest(t).toString('hex').slice(0, 8)}` })),
  ];
  const authenticate = (request: FastifyRequest): Principal => {
    const header = request.headers.authorization;
    const match = header === undefined ? null : /^Bearer[ ]+([\x21-\x7E]{1,4096})\s*$/i.exec(header);
    if (!match?.[1]) throw new ServiceError('unauthorized', header ? 'The Authorization header is not a bearer token' : undefined);
    const presented = digest(match[1]);
    let found: StoredToken | undefined;
    // Compare against every token, without an early exit, so timing does not tell which matched.
    for (const token of stored) if (timingSafeEqual(token.digest, presented)) found ??= token;
    if (!found) throw new ServiceError('unauthorized', 'The bearer token is not valid');
    return { right: found.right, actor: found.actor };
  };
  return {
    authenticate,
    require(request, right) {
      const principal = authenticate(request);
      if (principal.right !== 'admin' && principal.right !== right) throw new ServiceError('forbidden', `This token may not use ${right} routes`);
      return principal;
    },
  };
}
