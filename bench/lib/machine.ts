/** Facts about the machine a run was measured on (every figure is a ratio, but context matters). */
import { execFile } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';
import { promisify } from 'node:util';
import { serverVersion } from './postgres.js';

const run = promisify(execFile);

export type MachineFacts = Readonly<{ cores: number; cpuModel: string; memoryGiB: number; node: string; postgres: string; kafka: string; loadAverage: readonly number[] }>;

export async function machineFacts(): Promise<MachineFacts> {
  const kafka = await run('bash', ['deploy/kafka/kafka.sh', 'status']).then(
    ({ stdout }) => /Kafka ([\d.]+)/.exec(stdout)?.[1] ?? stdout.trim(),
    () => 'not running',
  );
  return {
    cores: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    postgres: await serverVersion(),
    kafka,
    loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

export function describeMachine(facts: MachineFacts): string {
  return [
    `cores ${facts.cores} · ${facts.cpuModel} · ${facts.memoryGiB} GiB`,
    `Node ${facts.node} · PostgreSQL ${facts.postgres} · Kafka ${facts.kafka}`,
    `load average at start ${facts.loadAverage.join(' ')} (other work on this machine makes absolute numbers noisy: compare ratios)`,
  ].join('\n');
}
