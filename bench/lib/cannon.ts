/** autocannon as a promise, reduced to the figures the benchmarks report. */
import autocannon, { type Options } from 'autocannon';

export type CannonResult = Readonly<{ requestsPerSecond: number; p50: number; p99: number; requests: number; errors: number; non2xx: number; bytesPerSecond: number }>;

export async function cannon(options: Options): Promise<CannonResult> {
  const result = await autocannon({ ...options });
  return {
    requestsPerSecond: result.requests.total / (result.duration || 1),
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    bytesPerSecond: result.throughput.average,
  };
}
