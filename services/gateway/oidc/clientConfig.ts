/**
 * openid-client Configurations per IdP, cached per process: discovery (or the explicit endpoints)
 * runs once per IdP configuration and hour, and the JWKS cache that openid-client keeps with a
 * Configuration survives between logins (it re-fetches the key set when a token names an unknown
 * `kid`, at most once a minute, and refreshes it every five minutes).
 *
 * Why openid-client's functions and not its passport Strategy: the Strategy keeps state, nonce
 * and the PKCE verifier in the (cookie) session, where a copied cookie replays them; here they are
 * one-time records in the database shared by every instance, consumed exactly once.
 */
import { createHash } from 'node:crypto';
import * as client from 'openid-client';
import type { IdpStored } from '../../../schemas/types.gen.js';
import { ServiceError } from '../../shared/errors.js';

const DISCOVERY_TTL_MS = 60 * 60_000;
const HTTP_TIMEOUT_SECONDS = 10;
const DEFAULT_CLOCK_SKEW_SECONDS = 60;

type Entry = { fingerprint: string; loadedAt: number; config: Promise<client.Configuration> };
const configurations = new Map<string, Entry>();

/** Every field that changes how we talk to the IdP; a changed IdP gets a fresh Configuration. */
function fingerprint(idp: IdpStored): string {
  const fields = [
    idp['issuer-url'],
    idp['client-id'],
    idp['client-secret'],
    idp['discovery-enabled'],
    idp['authorization-endpoint'],
    idp['token-endpoint'],
    idp['userinfo-endpoint'],
    idp['jwks-uri'],
    idp['allow-insecure-http'],
    idp['clock-skew-seconds'],
  ];
  return createHash('sha256').update(JSON.stringify(fields)).digest('hex');
}

function clientAuth(idp: IdpStored, supported: readonly string[] | undefined): client.ClientAuth {
  const secret = idp['client-secret'] ?? '';
  // client_secret_basic is the OAuth default; use _post only when the IdP says it lacks basic.
  return supported && !supported.includes('client_secret_basic') && supported.includes('client_secret_post')
    ? client.ClientSecretPost(secret)
    : client.ClientSecretBasic(secret);
}

async function load(idp: IdpStored): Promise<client.Configuration> {
  const issuer = idp['issuer-url'];
  const clientId = idp['client-id'];
  if (!issuer || !clientId) throw new TypeError(`OIDC IdP ${idp.id} lacks issuer-url or client-id`);
  const metadata: Partial<client.ClientMetadata> = {
    client_secret: idp['client-secret'],
    [client.clockTolerance]: idp['clock-skew-seconds'] ?? DEFAULT_CLOCK_SKEW_SECONDS,
  };
  // http:// IdP URLs only with the IdP's explicit, named opt-in (local test IdPs).
  const insecure = idp['allow-insecure-http'] === true;
  // Verify ID token signatures against the IdP's JWKS even though the token came over a direct
  // (TLS) channel: the spec allows skipping it, the audit story does not.
  const hardening = (config: client.Configuration) => {
    if (insecure) client.allowInsecureRequests(config);
    client.enableNonRepudiationChecks(config);
    config.timeout = HTTP_TIMEOUT_SECONDS;
  };
  let config: client.Configuration;
  if (idp['discovery-enabled'] !== false) {
    const discovered = await client.discovery(new URL(issuer), clientId, metadata, undefined, {
      execute: insecure ? [client.allowInsecureRequests] : [],
      timeout: HTTP_TIMEOUT_SECONDS,
    });
    const server = discovered.serverMetadata();
    config = new client.Configuration(server, clientId, metadata, clientAuth(idp, server.token_endpoint_auth_methods_supported));
  } else {
    const server: client.ServerMetadata = {
      issuer,
      authorization_endpoint: idp['authorization-endpoint'],
      token_endpoint: idp['token-endpoint'],
      jwks_uri: idp['jwks-uri'],
      ...(idp['userinfo-endpoint'] ? { userinfo_endpoint: idp['userinfo-endpoint'] } : {}),
    };
    config = new client.Configuration(server, clientId, metadata, clientAuth(idp, undefined));
  }
  hardening(config);
  return config;
}

/** The IdP's Configuration; discovery failures answer idp-unreachable and are retried next time. */
export async function oidcConfiguration(idp: IdpStored, now: number = Date.now()): Promise<client.Configuration> {
  const print = fingerprint(idp);
  let entry = configurations.get(idp.id);
  if (!entry || entry.fingerprint !== print || now - entry.loadedAt > DISCOVERY_TTL_MS) {
    entry = { fingerprint: print, loadedAt: now, config: load(idp) };
    configurations.set(idp.id, entry);
  }
  const current = entry;
  try {
    return await current.config;
  } catch (error) {
    if (configurations.get(idp.id) === current) configurations.delete(idp.id);
    throw new ServiceError('idp-unreachable', undefined, { cause: error });
  }
}
