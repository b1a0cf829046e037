/** Starts bench/server.ts in a child process and waits for its port. */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const SERVER = fileURLToPath(new URL('../server.ts', import.meta.url));
export const PROFILE_DIR = fileURLToPath(new URL('../.profiles/', import.meta.url));

export type ServerProcess = { url: string; pid: number; stop: () => Promise<void> };

export async function startServer(args: readonly string[], env: Record<string, string>, options: { profile?: string } = {}): Promise<ServerProcess> {
  const nodeArgs = ['--import', 'tsx'];
  if (options.profile) {
    mkdirSync(PROFILE_DIR, { recursive: true });
    nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}${options.profile}-${Date.now()}`);
  }
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, SERVER, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('the bench server did not start within 120 s')), 120_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening (\d+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the bench server exited with ${code} before listening`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}
