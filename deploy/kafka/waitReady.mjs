#!/usr/bin/env node
// Waits until a Kafka broker really answers Kafka requests (not just an open TCP port):
// a listening socket appears before the KRaft broker has caught up with its metadata.
//
//   node deploy/kafka/waitReady.mjs [--broker 127.0.0.1:9092] [--timeout 120]
//                                   [--pid <broker pid>] [--log <file>[:<from byte>]]... [--quiet] [--warm]
//
// --warm also waits for the producer-id and group coordinators (see below).
// Exit 0 when ready; 1 on timeout, 2 if --pid died first. On failure prints the reason
// and the tail of each --log file, so a CI log shows why the broker did not come up.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';

const args = process.argv.slice(2);
const opt = { broker: `127.0.0.1:${process.env.JIT_KAFKA_PORT || 9092}`, timeout: 120, pid: 0, logs: [], quiet: false, warm: false };
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--broker') opt.broker = args[++i];
  else if (a === '--timeout') opt.timeout = Number(args[++i]);
  else if (a === '--pid') opt.pid = Number(args[++i]);
  else if (a === '--log') opt.logs.push(args[++i]);
  else if (a === '--quiet') opt.quiet = true;
  else if (a === '--warm') opt.warm = true;
  else {
    console.error(`waitReady: unknown argument ${a}`);
    process.exit(64);
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

// "--log file:1234" shows only what was written after byte 1234, i.e. by this start
// attempt rather than by earlier runs that appended to the same file.
function tail(spec, lines = 40) {
  const m = /^(.*):(\d+)$/.exec(spec);
  const [file, from] = m ? [m[1], Number(m[2])] : [spec, 0];
  try {
    const buf = readFileSync(file);
    const text = buf.subarray(from <= buf.length ? from : 0).toString('utf8') // rolled over: all of it.trimEnd().split('\n').slice(-lines).join('\n');
    return `--- last ${lines} lines of ${file} ---\n${text || '(nothing new)'}`;
  } catch (err) {
    return `--- ${file}: ${err.code || err.message} ---`;
  }
}

function fail(code, message) {
  console.error(`waitReady: ${message}`);
  for (const f of opt.logs) console.error(tail(f));
  process.exit(code);
}

// kafkajs' own retries and error logging are off: this loop owns the timing, and
// ECONNREFUSED noise while the JVM boots says nothing useful.
const kafka = new Kafka({
  clientId: 'jit-kafka-wait-ready',
  brokers: [opt.broker],
  connectionTimeout: 2000,
  requestTimeout: 5000,
  retry: { retries: 0 },
  logLevel: logLevel.NOTHING,
});

const started = Date.now();
const deadline = started + opt.timeout * 1000;
let attempts = 0;
let lastError = 'no attempt made';

// Retries fn until it resolves or the deadline passes; fails fast if the broker died.
async function untilReady(what, fn) {
  for (let n = 1; Date.now() < deadline; n++) {
    attempts++;
    if (opt.pid && !alive(opt.pid)) fail(2, `broker process ${opt.pid} exited before ${opt.broker} became ready`);
    try {
      return await fn();
    } catch (err) {
      lastError = `${what}: ${err.name}: ${err.message}`;
    }
    await sleep(Math.min(250 * n, 1000));
  }
  fail(1, `${opt.broker} not ready after ${opt.timeout}s (${attempts} attempts); last error: ${lastError}`);
}

const cluster = await untilReady('metadata', async () => {
  const admin = kafka.admin({ retry: { retries: 0 } });
  try {
    await admin.connect();
    const c = await admin.describeCluster();
    // KRaft brokers answer metadata only once caught up with the metadata log; a broker
    // list and a controller id say so, and listTopics proves a second request round-trips.
    if (c.brokers.length === 0 || typeof c.controller !== 'number' || c.controller < 0) {
      throw new Error(`metadata incomplete (brokers=${c.brokers.length}, controller=${c.controller})`);
    }
    await admin.listTopics();
    return c;
  } finally {
    await admin.disconnect().catch(() => {});
  }
});

if (opt.warm) {
  // Both coordinators start lazily: the first idempotent producer gets "coordinator is
  // loading" while the broker fetches a producer-id block from the controller, and the
  // first FindCoordinator creates __consumer_offsets. Paying that once here keeps the first
  // test fast and free of kafkajs error lines.
  await untilReady('producer id', async () => {
    // retries >= 1 is mandatory for idempotent producers; this loop does the real retrying.
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, retry: { retries: 1 } });
    try {
      await producer.connect();
    } finally {
      await producer.disconnect().catch(() => {});
    }
  });
  await untilReady('group coordinator', async () => {
    const admin = kafka.admin({ retry: { retries: 0 } });
    try {
      await admin.connect();
      await admin.listTopics(); // fills kafkajs' broker pool; with retries off it will not
      await admin.describeGroups(['jit-kafka-warmup']);
    } finally {
      await admin.disconnect().catch(() => {});
    }
  });
}

if (!opt.quiet) {
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`waitReady: ${opt.broker} ready after ${secs}s (cluster ${cluster.clusterId}${opt.warm ? ', coordinators warmed' : ''})`);
}
process.exit(0);
