/**
 * pino options shared by the HTTP server and the CLI: JSON lines, secrets and personal data
 * redacted (see logging/redaction.ts for what and how).
 */
import type { LoggerOptions } from 'pino';
import { REDACTED, REDACTED_PATHS, scrubSecrets, serializeRequest } from './logging/redaction.js';

export { REDACTED_PATHS } from './logging/redaction.js';

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: { paths: REDACTED_PATHS, censor: REDACTED },
    base: { service: 'jit' },
    timestamp: () => `,"time":"${new Date().toISOString()}"`,
    formatters: { log: scrubSecrets },
    serializers: { req: serializeRequest },
  };
}
