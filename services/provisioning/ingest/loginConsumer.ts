/**
 * Login ingestion from Kafka: external gateways publish LoginSucceeded on jit.logins.v1 (key
 * idpId:subject, so one identity's logins stay in order). Each runs through the same command
 * handler as POST /rest/jit/1.0/logins. Malformed messages and logins the service cannot take
 * (unknown IdP, protocol mismatch) are parked; rejected logins are recorded as LoginRejected by the
 * handler. Infrastructure failures are retried, never skipped.
 */
import type { Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from 'pino';
import { describeErrors, validatorFor } from '../../../schemas/registry.js';
import type { LoginSucceeded } from '../../../schemas/types.gen.js';
import { ServiceError } from '../../shared/errors.js';
import type { Topics } from '../../shared/kafka/kafkaClient.js';
import { superviseGroupConsumer } from '../../shared/kafka/supervisedConsumer.js';
import type { ParkingLot } from '../../shared/parking/parkingLot.js';
import { provisionOnLogin, type LoginHandlerDeps } from '../login/provisionOnLogin.js';

export const LOGIN_CONSUMER = 'logins';

export type LoginConsumer = {
  handled(): number;
  stop(): Promise<void>;
};

type Parsed = { ok: true; login: LoginSucceeded } | { ok: false; reason: string };

export function parseLoginMessage(message: KafkaMessage): Parsed {
  let value: unknown;
  try {
    value = JSON.parse(message.value?.toString('utf8') ?? '');
  } catch {
    return { ok: false, reason: 'the value is not JSON' };
  }
  const validate = validatorFor<LoginSucceeded>('login-succeeded.schema.json');
  if (!validate(value)) return { ok: false, reason: describeErrors(validate.errors, 'value').join('; ') };
  return { ok: true, login: value };
}

export async function startLoginConsumer(deps: {
  kafka: Kafka;
  topics: Topics;
  handler: LoginHandlerDeps;
  parking: ParkingLot;
  logger: Logger;
  groupId: string;
}): Promise<LoginConsumer> {
  const logger = deps.logger.child({ component: 'login-consumer' });
  let handled = 0;
  let stopped = false;
  const park = (topic: string, partition: number, message: KafkaMessage, reason: string) =>
    deps.parking.park({
      consumer: LOGIN_CONSUMER,
      topic,
      partition,
      offset: message.offset,
      key: message.key?.toString('utf8') ?? null,
      value: message.value?.toString('utf8') ?? null,
      headers: {},
      reason,
    });
  const supervised = await superviseGroupConsumer({
    kafka: deps.kafka,
    groupId: deps.groupId,
    topic: deps.topics.logins,
    logger,
    stopping: () => stopped,
    run: (consumer) =>
      consumer.run({
        partitionsConsumedConcurrently: 3,
        eachMessage: async ({ topic, partition, message }) => {
          const parsed = parseLoginMessage(message);
          if (!parsed.ok) {
            logger.warn({ partition, offset: message.offset, reason: parsed.reason }, 'parking a malformed login');
            await park(topic, partition, message, parsed.reason);
            handled += 1;
            return;
          }
          try {
            const result = await provisionOnLogin(deps.handler, parsed.login, {
              correlationId: `kafka:${topic}:${partition}:${message.offset}`,
              actor: 'gateway:kafka',
            });
            logger.debug({ loginId: parsed.login.loginId, outcome: result.outcome }, 'login handled');
          } catch (error) {
            // A client error will fail the same way on every retry: park it. Anything else is retried.
            if (!ServiceError.isInstance(error) || error.statusCode >= 500 || error.code === 'conflict') throw error;
            logger.warn({ loginId: parsed.login.loginId, code: error.code }, 'parking a login the service cannot take');
            await park(topic, partition, message, `${error.code}: ${error.message}`);
          }
          handled += 1;
        },
      }).catch((error: unknown) => logger.error({ err: error }, 'the login consumer stopped')),
  });
  return {
    handled: () => handled,
    async stop() {
      stopped = true;
      await supervised.stop();
    },
  };
}
