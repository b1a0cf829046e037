/**
 * The one error catalogue: every error a client can see has a stable code, an HTTP status and a
 * message. Anything else that escapes to the HTTP layer becomes a generic 500 (see api/errorHandler).
 */
import type { Problem, RejectionReason } from '../../schemas/types.gen.js';

export const ERROR_CATALOGUE = {
  'invalid-request': { status: 400, message: 'The request is not valid' },
  'invalid-json': { status: 400, message: 'The request body is not valid JSON' },
  'invalid-mapping': { status: 400, message: 'A mapping expression is not valid' },
  'invalid-idp': { status: 400, message: 'The IdP configuration is not valid' },
  'invalid-cursor': { status: 400, message: 'The paging cursor is not valid' },
  unauthorized: { status: 401, message: 'A valid bearer token is required' },
  'session-required': { status: 401, message: 'There is no valid SSO session; sign in first' },
  forbidden: { status: 403, message: 'This token may not do that' },
  'login-rejected': { status: 403, message: 'The login was rejected' },
  'not-found': { status: 404, message: 'No such resource' },
  'user-not-found': { status: 404, message: 'No such JIT user' },
  'idp-not-found': { status: 404, message: 'No such IdP' },
  'method-not-allowed': { status: 405, message: 'Method not allowed' },
  'not-acceptable': { status: 406, message: 'Cannot answer in any of the accepted media types' },
  'idp-exists': { status: 409, message: 'An IdP with this id already exists' },
  'protocol-mismatch': { status: 409, message: 'The login protocol does not match the IdP' },
  conflict: { status: 409, message: 'The resource was changed concurrently; try again' },
  'payload-too-large': { status: 413, message: 'The request body is too large' },
  'unsupported-media-type': { status: 415, message: 'Unsupported content type' },
  'too-many-requests': { status: 429, message: 'Too many requests' },
  'internal-error': { status: 500, message: 'Something went wrong on our side' },
  'idp-unreachable': { status: 502, message: 'The identity provider could not be reached' },
  unavailable: { status: 503, message: 'The service is not ready' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** An error meant for a client: its code, status and message are safe to show. */
export class ServiceError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  readonly problems: readonly Problem[] | undefined;
  readonly reason: RejectionReason | undefined;

  constructor(
    code: ErrorCode,
    message?: string,
    options: { cause?: unknown; problems?: readonly Problem[]; reason?: RejectionReason } = {},
  ) {
    super(message ?? ERROR_CATALOGUE[code].message, { cause: options.cause });
    this.name = 'ServiceError';
    this.code = code;
    this.statusCode = ERROR_CATALOGUE[code].status;
    this.problems = options.problems;
    this.reason = options.reason;
  }

  static isInstance(error: unknown): error is ServiceError {
    return error instanceof ServiceError;
  }
}

/** A misconfiguration found at start: one line per problem, then the process exits non-zero. */
export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}
