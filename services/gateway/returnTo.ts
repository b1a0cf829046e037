/**
 * Where a browser may be sent after a login: a path on this service, a URL with the public URL's
 * origin, or a URL whose origin is in JIT_RETURN_TO_ALLOWLIST. Anything else falls back to `/`,
 * so a crafted login link can never turn the gateway into an open redirector.
 */

const MAX_LENGTH = 2048;
export const DEFAULT_RETURN_TO = '/';

export type ReturnToPolicy = Readonly<{ publicUrl: string; allowlist: readonly string[] }>;

/**
 * The safe target for `candidate`, or `/`: an absolute URL normalized by the WHATWG parser,
 * exactly as a browser reads it.
 */
export function safeReturnTo(candidate: unknown, policy: ReturnToPolicy): string {
  if (typeof candidate !== 'string' || candidate.length === 0 || candidate.length > MAX_LENGTH) return DEFAULT_RETURN_TO;
  // Browsers strip tabs and newlines inside URLs and read `\` as `/`, which turns `/\evil.com` or
  // `/<TAB>/evil.com` into another host; refuse such characters outright, with every other control
  // character and any whitespace (CR/LF would also split headers).
  if (/[\p{Cc}\p{Z}\\]/u.test(candidate) || candidate !== candidate.trim()) return DEFAULT_RETURN_TO;
  let base: URL;
  try {
    base = new URL(policy.publicUrl);
  } catch {
    return DEFAULT_RETURN_TO;
  }
  if (candidate.startsWith('/')) {
    // `//host` is a scheme-relative URL to another host.
    if (candidate.startsWith('//')) return DEFAULT_RETURN_TO;
    const resolved = parse(candidate, base);
    // Answer the absolute URL: a resolved path such as `/a/../..//evil.com` becomes `//evil.com`,
    // which a browser would read as another host if it were sent back as a path.
    return resolved && resolved.origin === base.origin ? resolved.href : DEFAULT_RETURN_TO;
  }
  // Only absolute http(s) URLs beyond this point: `javascript:`, `data:`, relative paths without a
  // leading slash (`evil.com/x`) and the like are refused.
  if (!/^https?:\/\//i.test(candidate)) return DEFAULT_RETURN_TO;
  const url = parse(candidate);
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) return DEFAULT_RETURN_TO;
  if (url.username !== '' || url.password !== '') return DEFAULT_RETURN_TO;
  const allowed = url.origin === base.origin || policy.allowlist.includes(url.origin);
  return allowed ? url.href : DEFAULT_RETURN_TO;
}

function parse(value: string, base?: URL): URL | undefined {
  try {
    return new URL(value, base);
  } catch {
    return undefined;
  }
}
