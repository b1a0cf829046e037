/**
 * A small OpenID Provider on a random port for the OIDC security suite. It behaves like a real
 * one (discovery, authorization endpoint that signs the configured user in at once, token endpoint
 * with client authentication and PKCE verification, JWKS, userinfo) and can be told to mint
 * exactly the bad ID token a test needs: `alg: none`, HS256 with the client secret, a foreign
 * key, wrong iss/aud/nonce, expired, no sub… Signing uses node:crypto (RS256), no JOSE library.
 */
import { createHash, createHmac, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const CLIENT_ID = 'jit-client';
export const CLIENT_SECRET = 'super-secret-value';

const b64u = (data: Buffer | string): string => Buffer.from(data).toString('base64url');

export type SigningKey = { kid: string; privateKey: KeyObject; jwk: Record<string, unknown> };

export function newSigningKey(kid: string = randomBytes(6).toString('hex')): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { kid, privateKey, jwk: { ...(publicKey.export({ format: 'jwk' }) as Record<string, unknown>), kid, use: 'sig', alg: 'RS256' } };
}

export type TokenPlan = {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
  /** How to sign: the server's current key, another RSA key, HMAC with the client secret, or not at all. */
  signWith: 'current' | 'none' | 'client-secret' | SigningKey;
};

type Authorization = { clientId: string; redirectUri: string; scope: string; state: string; nonce: string | undefined; challenge: string; method: string };

export type TokenServer = {
  issuer: string;
  /** The user the authorization endpoint signs in. */
  user: Record<string, unknown>;
  /** Claims served by userinfo only (merged over `user`). */
  userinfoExtra: Record<string, unknown>;
  /** Rewrites the next ID tokens (the default plan is a correct token). */
  plan: (plan: TokenPlan) => TokenPlan;
  /** Keys published in the JWKS; the first is the signing key. */
  keys: SigningKey[];
  jwksFetches: number;
  /** What the authorization endpoint received last. */
  lastAuthorization: Authorization | undefined;
  /** The code_verifier values the token endpoint checked against their challenge. */
  verifiedPkce: number;
  /** Extra metadata merged into discovery. */
  discoveryExtra: Record<string, unknown>;
  close(): Promise<void>;
};

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function signToken(plan: TokenPlan, current: SigningKey): string {
  const header = { ...plan.header };
  if (plan.signWith === 'none') header['alg'] = 'none';
  else if (plan.signWith === 'client-secret') header['alg'] = 'HS256';
  const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(plan.claims))}`;
  if (plan.signWith === 'none') return `${input}.`;
  if (plan.signWith === 'client-secret') return `${input}.${b64u(createHmac('sha256', CLIENT_SECRET).update(input).digest())}`;
  const key = plan.signWith === 'current' ? current : plan.signWith;
  return `${input}.${b64u(sign('sha256', Buffer.from(input), key.privateKey))}`;
}

export async function startTokenServer(): Promise<TokenServer> {
  const codes = new Map<string, Authorization & { used: boolean }>();
  const accessTokens = new Set<string>();
  const server: TokenServer = {
    issuer: '',
    user: { sub: 'user-alice-0001', preferred_username: 'alice', name: 'Alice Liddell', email: 'alice@example.com', groups: ['jira-users', 'developers'] },
    userinfoExtra: {},
    plan: (plan) => plan,
    keys: [newSigningKey('key-1')],
    jwksFetches: 0,
    lastAuthorization: undefined,
    verifiedPkce: 0,
    discoveryExtra: {},
    close: async () => undefined,
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', server.issuer);
    switch (`${req.method} ${url.pathname}`) {
      case 'GET /.well-known/openid-configuration':
        return send(res, 200, {
          issuer: server.issuer,
          authorization_endpoint: `${server.issuer}/authorize`,
          token_endpoint: `${server.issuer}/token`,
          userinfo_endpoint: `${server.issuer}/userinfo`,
          jwks_uri: `${server.issuer}/jwks`,
          response_types_supported: ['code'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['RS256'],
          code_challenge_methods_supported: ['S256'],
          token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
          authorization_response_iss_parameter_supported: true,
          ...server.discoveryExtra,
        });
      case 'GET /jwks':
        server.jwksFetches += 1;
        return send(res, 200, { keys: server.keys.map((k) => k.jwk) });
      case 'GET /authorize': {
        const q = url.searchParams;
        const auth: Authorization = {
          clientId: q.get('client_id') ?? '',
          redirectUri: q.get('redirect_uri') ?? '',
          scope: q.get('scope') ?? '',
          state: q.get('state') ?? '',
          nonce: q.get('nonce') ?? undefined,
          challenge: q.get('code_challenge') ?? '',
          method: q.get('code_challenge_method') ?? '',
        };
        server.lastAuthorization = auth;
        if (auth.clientId !== CLIENT_ID || auth.method !== 'S256' || auth.challenge === '') return send(res, 400, { error: 'invalid_request' });
        const code = randomBytes(16).toString('hex');
        codes.set(code, { ...auth, used: false });
        const back = new URL(auth.redirectUri);
        back.searchParams.set('code', code);
        back.searchParams.set('state', auth.state);
        back.searchParams.set('iss', server.issuer);
        res.writeHead(302, { location: back.href });
        return void res.end();
      }
      case 'POST /token': {
        const form = await readBody(req);
        const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '')?.[1];
        const [id, secret] = basic ? Buffer.from(basic, 'base64').toString('utf8').split(':').map(decodeURIComponent) : [form.get('client_id'), form.get('client_secret')];
        if (id !== CLIENT_ID || secret !== CLIENT_SECRET) return send(res, 401, { error: 'invalid_client' });
        const grant = codes.get(form.get('code') ?? '');
        if (!grant || grant.used || grant.redirectUri !== form.get('redirect_uri')) return send(res, 400, { error: 'invalid_grant' });
        grant.used = true;
        const verifier = form.get('code_verifier') ?? '';
        if (b64u(createHash('sha256').update(verifier).digest()) !== grant.challenge) return send(res, 400, { error: 'invalid_grant', error_description: 'PKCE' });
        server.verifiedPkce += 1;
        const now = Math.floor(Date.now() / 1000);
        const current = server.keys[0];
        if (!current) throw new Error('no signing key');
        const plan = server.plan({
          header: { alg: 'RS256', kid: current.kid, typ: 'JWT' },
          claims: { iss: server.issuer, aud: CLIENT_ID, iat: now, exp: now + 300, auth_time: now - 5, ...(grant.nonce ? { nonce: grant.nonce } : {}), ...server.user },
          signWith: 'current',
        });
        const accessToken = randomBytes(16).toString('hex');
        accessTokens.add(accessToken);
        return send(res, 200, { access_token: accessToken, token_type: 'Bearer', expires_in: 300, id_token: signToken(plan, current) });
      }
      case 'GET /userinfo': {
        const token = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
        if (!token || !accessTokens.has(token)) return send(res, 401, { error: 'invalid_token' });
        return send(res, 200, { ...server.user, ...server.userinfoExtra });
      }
      default:
        return send(res, 404, { error: 'not_found' });
    }
  };

  const http = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => send(res, 500, { error: 'server_error', error_description: String(error) }));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  server.issuer = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  server.close = () =>
    new Promise((resolve) => {
      http.close(() => resolve());
      http.closeAllConnections();
    });
  return server;
}
