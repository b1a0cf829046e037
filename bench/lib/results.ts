/** One benchmark figure against the baseline measured in the same run. */
export type Comparison = 'at-least' | 'at-most';

export type BenchResult = {
  benchmark: string;
  metric: string;
  unit: string;
  measured: number;
  baseline: number | null;
  /** When the baseline is measured in other units (durable inserts/s against logins/s). */
  baselineUnit?: string;
  ratio: number | null;
  /** The target: ratio ≥ target (at-least) or measured/limit ≤ target (at-most). */
  target: string;
  met: boolean;
  notes?: string;
};

export function ratioResult(benchmark: string, metric: string, unit: string, measured: number, baseline: number, minRatio: number, notes?: string, baselineUnit?: string): BenchResult {
  const ratio = baseline > 0 ? measured / baseline : 0;
  return { benchmark, metric, unit, measured, baseline, ...(baselineUnit ? { baselineUnit } : {}), ratio, target: `≥ ${minRatio}× baseline`, met: ratio >= minRatio, ...(notes ? { notes } : {}) };
}

export function limitResult(benchmark: string, metric: string, unit: string, measured: number, limit: number, notes?: string): BenchResult {
  return { benchmark, metric, unit, measured, baseline: null, ratio: null, target: `< ${limit} ${unit}`, met: measured < limit, ...(notes ? { notes } : {}) };
}

/** "deep page within 20% of the first": measured (deep) against baseline (first page). */
export function withinResult(benchmark: string, metric: string, unit: string, measured: number, reference: number, tolerance: number, notes?: string): BenchResult {
  const ratio = reference > 0 ? measured / reference : 0;
  return { benchmark, metric, unit, measured, baseline: reference, ratio, target: `≥ ${(1 - tolerance).toFixed(1)}× first page`, met: ratio >= 1 - tolerance, ...(notes ? { notes } : {}) };
}

const fmt = (n: number | null): string => (n === null ? '—' : n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));

export function renderTable(results: readonly BenchResult[]): string {
  const header = ['benchmark', 'metric', 'measured', 'baseline', 'ratio', 'target', 'met'];
  const rows = results.map((r) => [r.benchmark, r.metric, `${fmt(r.measured)} ${r.unit}`, r.baseline === null ? '—' : `${fmt(r.baseline)} ${r.baselineUnit ?? r.unit}`, r.ratio === null ? '—' : `${r.ratio.toFixed(2)}×`, r.target, r.met ? 'yes' : 'NO']);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
