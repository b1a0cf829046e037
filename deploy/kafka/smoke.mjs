#!/usr/bin/env node
// End-to-end check that kafkajs (2.2.4) works against the dev broker (Kafka 4.x, which
// dropped many old protocol versions): admin create/delete topic, idempotent producer,
// consumer group reading from the beginning. Prints one line; exit 0 ok, 1 failure.
//
//   node deploy/kafka/smoke.mjs          # broker at 127.0.0.1:${JIT_KAFKA_PORT:-9092}
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';

process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1'; // read when the producer is created

const broker = `127.0.0.1:${process.env.JIT_KAFKA_PORT || 9092}`;
const runId = randomUUID().slice(0, 8);
const topic = `jit-smoke-${runId}`;
const groupId = `jit-smoke-group-${runId}`;
const TIMEOUT_MS = 60_000;

// Same key -> same partition, so per-key order is what Kafka guarantees and we check.
const keys = ['user-a', 'user-b', 'user-c'];
const sent = [];
for (let i = 0; i < 4; i++) for (const key of keys) sent.push({ key, value: JSON.stringify({ key, seq: i }) });

// WARN keeps real problems visible; kafkajs' transient "coordinator not available"
// error-level lines during the first group join are expected and harmless.
const kafka = new Kafka({ clientId: 'jit-kafka-smoke', brokers: [broker], logLevel: logLevel.WARN });
const admin = kafka.admin();
const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
// disconnect() waits for the in-flight fetch long-poll (default up to 5 s): keep it short.
const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 250 });

const started = Date.now();
let topicCreated = false;

async function run() {
  await admin.connect();
  topicCreated = await admin.createTopics({
    topics: [{ topic, numPartitions: 3, replicationFactor: 1 }],
    waitForLeaders: true,
  });
  if (!topicCreated) throw new Error(`createTopics returned false for ${topic}`);

  await producer.connect();
  // One record per send keeps the overall send order well defined under idempotence.
  for (const m of sent) await producer.send({ topic, acks: -1, messages: [m] });

  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const received = [];
  await new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`timed out after ${TIMEOUT_MS} ms with ${received.length}/${sent.length} messages`)),
      TIMEOUT_MS,
    );
    consumer
      .run({
        eachMessage: async ({ partition, message }) => {
          received.push({ partition, key: message.key.toString(), value: message.value.toString() });
          if (received.length >= sent.length) {
            clearTimeout(timer);
            resolve();
          }
        },
      })
      .catch(reject);
  });

  for (const key of keys) {
    const want = sent.filter((m) => m.key === key).map((m) => m.value);
    const got = received.filter((m) => m.key === key);
    const values = got.map((m) => m.value);
    if (JSON.stringify(values) !== JSON.stringify(want)) {
      throw new Error(`key ${key}: expected ${JSON.stringify(want)}, got ${JSON.stringify(values)}`);
    }
    if (new Set(got.map((m) => m.partition)).size !== 1) throw new Error(`key ${key} spread over several partitions`);
  }
  if (received.length !== sent.length) throw new Error(`expected ${sent.length} messages, got ${received.length}`);

  const groups = await admin.describeGroups([groupId]);
  const state = groups.groups[0]?.state;
  if (state !== 'Stable') throw new Error(`consumer group ${groupId} is ${state}, expected Stable`);
  const partitions = new Set(received.map((m) => m.partition)).size;
  return `${sent.length} messages over ${partitions} partitions, group ${state}`;
}

let code = 0;
let line;
try {
  const detail = await run();
  line = `smoke OK: ${broker} topic ${topic}: ${detail}`;
} catch (err) {
  code = 1;
  line = `smoke FAILED: ${broker} topic ${topic}: ${err.name}: ${err.message}`;
} finally {
  await consumer.disconnect().catch(() => {});
  await producer.disconnect().catch(() => {});
  await admin.deleteGroups([groupId]).catch(() => {}); // best effort: leave no trace
  if (topicCreated) {
    try {
      await admin.deleteTopics({ topics: [topic] });
    } catch (err) {
      code = 1;
      line += ` (and deleteTopics failed: ${err.message})`;
    }
  }
  await admin.disconnect().catch(() => {});
}
console.log(`${line} (${((Date.now() - started) / 1000).toFixed(1)}s)`);
process.exit(code);
