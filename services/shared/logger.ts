/**
 * pino options shared by the HTTP server and the CLI: JSON lines, secrets redacted.
 */
import type { LoggerOptions } from 'pino';

export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  '*.client-secret',
  '*.clientSecret',
  '*.password',
  '*.token',
  '*.SAMLResponse',
  '*.id_token',
  '*.access_token',
  '*.code',
];

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    base: { service: 'jit' },
    timestamp: () => `,"time":"${new Date().toISOString()}"`,
  };
}
