/** Runs a TypeScript entry point of the benchmark in a child process and collects its output. */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { PROFILE_DIR } from './serverProcess.js';

export function runTs(entry: string, args: readonly string[], env: Record<string, string>, options: { profile?: string } = {}): Promise<{ stdout: string; stderr: string; ms: number }> {
  const nodeArgs = ['--import', 'tsx'];
  if (options.profile) {
    mkdirSync(PROFILE_DIR, { recursive: true });
    nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}${options.profile}-${Date.now()}`);
  }
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, entry, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - started;
      if (code === 0) resolve({ stdout, stderr, ms });
      else reject(new Error(`${entry} ${args.join(' ')} exited ${code}: ${stderr.slice(-2000)}`));
    });
  });
}
