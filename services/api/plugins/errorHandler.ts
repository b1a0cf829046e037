/**
 * The one error handler: catalogue errors answer their code and message; validation and parsing
 * errors become 4xx with a readable message; anything else is a generic 500 (details only logged).
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { describeErrors } from '../../../schemas/registry.js';
import { ERROR_CATALOGUE, ServiceError, type ErrorCode } from '../../shared/errors.js';

type ErrorBody = { error: string; message: string; reason?: string; problems?: unknown[] };

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported-media-type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid-request',
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload-too-large',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid-json',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid-json',
  FST_ERR_BAD_URL: 'invalid-request',
  FST_ERR_MAX_PARAM_LENGTH: 'invalid-request',
  FST_ERR_ASYNC_CONSTRAINT: 'invalid-request',
};

/** Messages for Fastify's own errors whose text would echo the whole URL back. */
const FASTIFY_MESSAGES: Record<string, string> = {
  FST_ERR_BAD_URL: 'The URL is not valid: a path segment is not well-formed percent-encoded UTF-8',
  FST_ERR_MAX_PARAM_LENGTH: 'A path segment is longer than 1024 characters',
};

export function errorBody(error: ServiceError): ErrorBody {
  return {
    error: error.code,
    message: error.message,
    ...(error.reason ? { reason: error.reason } : {}),
    ...(error.problems && error.problems.length > 0 ? { problems: [...error.problems] } : {}),
  };
}

/** V8 quotes the start of the text it could not parse; a body may carry secrets, which must not reach the log. */
function withoutEcho(message: string): string {
  return message.replace(/, ".*" is not valid JSON$/s, ' (not valid JSON)');
}

function toServiceError(error: FastifyError & { validationContext?: string }): ServiceError {
  if (ServiceError.isInstance(error)) return error;
  if (error.validation) {
    const lines = describeErrors(error.validation as never, error.validationContext ?? 'request');
    return new ServiceError('invalid-request', lines.join('; ') || error.message, { cause: error });
  }
  const mapped = error.code ? FASTIFY_CODES[error.code] : undefined;
  if (mapped) {
    const message = mapped === 'invalid-json' ? `The request body is not valid JSON: ${withoutEcho(error.message)}` : FASTIFY_MESSAGES[error.code];
    return new ServiceError(mapped, message, { cause: error });
  }
  // secure-json-parse rejects __proto__ / constructor.prototype keys with a SyntaxError.
  if (error instanceof SyntaxError || /prototype property/i.test(error.message)) {
    return new ServiceError('invalid-json', `The request body is not acceptable JSON: ${withoutEcho(error.message)}`, { cause: error });
  }
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    const code = (Object.entries(ERROR_CATALOGUE).find(([, v]) => v.status === status)?.[0] ?? 'invalid-request') as ErrorCode;
    return new ServiceError(code, undefined, { cause: error });
  }
  return new ServiceError('internal-error', undefined, { cause: error });
}

/**
 * Answers any error as `{ error, message }`. Also Fastify's `frameworkErrors` option, for the
 * errors its router raises before a route (and so the error handler) is involved.
 */
export function replyWithError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const serviceError = toServiceError(error);
  if (serviceError.statusCode >= 500) request.log.error({ err: error }, 'request failed');
  else request.log.info({ code: serviceError.code, detail: serviceError.message }, 'request refused');
  if (serviceError.statusCode === 401) reply.header('www-authenticate', 'Bearer realm="jit"');
  return reply.status(serviceError.statusCode).type('application/json; charset=utf-8').send(errorBody(serviceError));
}

async function errorPlugin(app: FastifyInstance): Promise<void> {
  app.setErrorHandler(replyWithError);
  app.setNotFoundHandler((request, reply) => {
    reply.status(404).send({ error: 'not-found', message: `No route for ${request.method} ${request.url.split('?')[0] ?? ''}` });
  });
}

export default fp(errorPlugin, { name: 'jit-errors', fastify: '5.x' });
