/**
 * CPU time per process group between two moments, read from /proc (Linux): where a benchmark's
 * cores went (the service processes, PostgreSQL's backends, the Kafka broker, the load generator
 * itself). On a machine without /proc the snapshots are empty and the breakdown says so.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat; 100 on every Linux this runs on. */
const TICKS_PER_SECOND = 100;

export type CpuSnapshot = ReadonlyMap<number, Readonly<{ group: string; ticks: number }>>;

/** Names a process's group from its pid and command line, or leaves it out (undefined). */
export type Grouping = (pid: number, commandLine: string) => string | undefined;

function processTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: fields count from its last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return undefined; // exited meanwhile, or no /proc
  }
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
  } catch {
    return '';
  }
}

export function snapshotCpu(grouping: Grouping): CpuSnapshot {
  const snapshot = new Map<number, { group: string; ticks: number }>();
  let pids: number[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name)).map(Number);
  } catch {
    return snapshot;
  }
  for (const pid of pids) {
    const group = grouping(pid, commandLine(pid));
    if (group === undefined) continue;
    const ticks = processTicks(pid);
    if (ticks !== undefined) snapshot.set(pid, { group, ticks });
  }
  return snapshot;
}

/**
 * CPU seconds per group between two snapshots. A process that started in between counts from
 * zero; one that exited in between is lost (its last ticks are unknown).
 */
export function cpuSecondsBetween(before: CpuSnapshot, after: CpuSnapshot): Map<string, number> {
  const seconds = new Map<string, number>();
  for (const [pid, { group, ticks }] of after) {
    const spent = (ticks - (before.get(pid)?.ticks ?? 0)) / TICKS_PER_SECOND;
    seconds.set(group, (seconds.get(group) ?? 0) + spent);
  }
  return seconds;
}

/** "api 0.61 ms, postgres 1.20 ms, …" per unit of work, largest first. */
export function describeCpuPer(seconds: ReadonlyMap<string, number>, units: number, unit: string): string {
  if (seconds.size === 0) return 'no /proc here: CPU per process unknown';
  const total = [...seconds.values()].reduce((a, b) => a + b, 0);
  const parts = [...seconds]
    .sort((a, b) => b[1] - a[1])
    .map(([group, s]) => `${group} ${((s * 1000) / units).toFixed(2)} ms`);
  return `CPU per ${unit}: ${parts.join(', ')}; total ${((total * 1000) / units).toFixed(2)} ms (${total.toFixed(1)} CPU s)`;
}
