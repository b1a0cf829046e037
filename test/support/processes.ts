/**
 * Real `jit` processes for the fault, kill and scale tests: `node bin/jit.js serve --services …`
 * on a free port with the given environment. A process is ready once it answers /healthz (or
 * /readyz); its output goes to a log file whose tail is quoted when something fails. SIGKILL is a
 * crashed pod (no shutdown hook runs), SIGTERM a graceful stop.
 *
 * The processes run the compiled program in dist/: `make test` builds first; a missing or stale
 * build fails loudly instead of testing old code.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const JIT_BIN = join(REPO_ROOT, 'bin/jit.js');
const DIST = join(REPO_ROOT, 'dist');
const SOURCE_DIRS = ['services', 'events', 'schemas'];

function sourcesNewerThanBuild(dir: string, found: string[] = []): string[] {
  for (const entry of readdirSync(join(REPO_ROOT, dir), { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'testing') sourcesNewerThanBuild(path, found);
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') && !entry.name.endsWith('.d.ts')) {
      const built = join(DIST, path.replace(/\.ts$/, '.js'));
      if (!existsSync(built) || statSync(built).mtimeMs < statSync(join(REPO_ROOT, path)).mtimeMs) found.push(path);
    }
  }
  return found;
}

let checked = false;

/**
 * Throws unless dist/ holds a build of the current sources (the processes run dist/, not the .ts
 * files). Checked once per test file: what a running test started with stays what it tests.
 */
export function assertBuilt(): void {
  if (checked) return;
  if (!existsSync(join(DIST, 'services/cli/jit.js'))) {
    throw new Error(`dist/ is missing: these tests run the compiled \`jit\` program; run \`npm run build\` first (make test does)`);
  }
  const stale = SOURCE_DIRS.flatMap((dir) => sourcesNewerThanBuild(dir));
  if (stale.length > 0) {
    throw new Error(`dist/ is older than ${stale.slice(0, 5).join(', ')}${stale.length > 5 ? ` and ${stale.length - 5} more` : ''}: run \`npm run build\` first`);
  }
  checked = true;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** The child's environment: only what node needs plus the JIT_* variables given (no tap loaders, no coverage). */
function childEnv(env: Readonly<Record<string, string>>): NodeJS.ProcessEnv {
  const keep = ['PATH', 'HOME', 'LANG', 'TMPDIR', 'TZ'];
  const base = Object.fromEntries(keep.flatMap((k) => (process.env[k] === undefined ? [] : [[k, process.env[k]]])));
  return { ...base, KAFKAJS_NO_PARTITIONER_WARNING: '1', ...env };
}

/** Per-request access log lines: noise in a failure message. */
const ACCESS_LOG = /"msg":"(incoming request|request completed)"/;

export function tailOf(file: string, lines = 40): string {
  try {
    const text = readFileSync(file, 'utf8').trimEnd().split('\n').filter((line) => !ACCESS_LOG.test(line)).slice(-lines).join('\n');
    return `--- last ${lines} lines of ${file} ---\n${text}`;
  } catch (error) {
    return `--- ${file}: ${error instanceof Error ? error.message : String(error)} ---`;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export type JitProcessOptions = Readonly<{
  /** Name in messages and of the log file, e.g. "relay". */
  name: string;
  services: readonly string[];
  env: Readonly<Record<string, string>>;
  /** Path polled until it answers 200 (default /healthz). */
  readiness?: '/healthz' | '/readyz';
  readyTimeoutMs?: number;
}>;

export type JitProcess = {
  readonly name: string;
  readonly services: readonly string[];
  readonly logFile: string;
  /** Base URL of the current incarnation (a restart may move it to another port). */
  url(): string;
  pid(): number | undefined;
  running(): boolean;
  /** How many times this process was started. */
  starts(): number;
  /** SIGKILL: no shutdown hook runs, like a crashed pod. Resolves once the process is gone. */
  kill(): Promise<void>;
  /** SIGTERM: a graceful shutdown; resolves with the exit code (SIGKILL after the timeout). */
  stop(timeoutMs?: number): Promise<number | null>;
  /** Starts the process again and waits until it is ready; the log file is appended to. */
  start(): Promise<void>;
  /** Lines of the log (pino JSON) whose msg matches, across every incarnation. */
  logLines(match: RegExp): LogLine[];
  tail(lines?: number): string;
};

export type LogLine = { msg: string; pid: number; time: number; line: string };

export type ProcessGroup = {
  readonly logDir: string;
  /** Starts a `jit serve` process and waits until it is ready. */
  start(options: JitProcessOptions): Promise<JitProcess>;
  /** Runs a one-shot `jit` command (replay, audit, republish) to completion. */
  run(args: readonly string[], env: Readonly<Record<string, string>>, timeoutMs?: number): Promise<CommandResult>;
  /** Tails of every process log, for a failure message. */
  tails(lines?: number): string;
  /** Stops every process (SIGTERM, then SIGKILL); called by the test's teardown. */
  close(): Promise<void>;
};

export type CommandResult = { code: number | null; stdout: string; stderr: string };

type TapLike = { teardown(fn: () => unknown): void; passing(): boolean; comment(...message: unknown[]): void };

/**
 * A set of processes owned by one test: torn down with it; when the test failed, the tail of each
 * log is printed and the log folder is kept.
 */
export function processGroup(t: TapLike, label: string): ProcessGroup {
  assertBuilt();
  const logDir = mkdtempSync(join(tmpdir(), `jit-${label}-`));
  const processes: JitProcess[] = [];
  // Fallback for a test process that ends without running its teardown: no orphaned servers.
  const killAll = () => {
    for (const p of processes) {
      const pid = p.pid();
      if (pid !== undefined) process.kill(pid, 'SIGKILL');
    }
  };
  process.once('exit', killAll);

  const group: ProcessGroup = {
    logDir,
    async start(options) {
      const proc = jitProcess(options, logDir);
      processes.push(proc);
      await proc.start();
      return proc;
    },
    run: (args, env, timeoutMs = 120_000) => runJit(args, env, timeoutMs),
    tails: (lines = 30) => processes.map((p) => tailOf(p.logFile, lines)).join('\n'),
    async close() {
      await Promise.all(processes.map((p) => p.stop(10_000).catch(() => p.kill())));
      process.off('exit', killAll);
    },
  };
  t.teardown(async () => {
    await group.close().catch((error: unknown) => t.comment(`teardown: stopping the processes failed: ${String(error)}`));
    if (t.passing()) rmSync(logDir, { recursive: true, force: true });
    else t.comment(`process logs kept in ${logDir}\n${group.tails()}`);
  });
  return group;
}

function jitProcess(options: JitProcessOptions, logDir: string): JitProcess {
  const logFile = join(logDir, `${options.name}.log`);
  let child: ChildProcess | undefined;
  let exited: Promise<number | null> = Promise.resolve(null);
  let port = 0;
  let starts = 0;

  const alive = () => child !== undefined && child.exitCode === null && child.signalCode === null;

  const waitReady = async (): Promise<void> => {
    const timeoutMs = options.readyTimeoutMs ?? 90_000;
    const deadline = Date.now() + timeoutMs;
    const path = options.readiness ?? '/healthz';
    let last = 'no answer yet';
    while (Date.now() < deadline) {
      if (!alive()) throw new Error(`jit process ${options.name} exited (code ${String(child?.exitCode)}, signal ${String(child?.signalCode)}) before it was ready\n${tailOf(logFile)}`);
      try {
        const response = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(2000) });
        if (response.status === 200) return;
        last = `${path} answered ${response.status}: ${await response.text()}`;
      } catch (error) {
        last = error instanceof Error ? error.message : String(error);
      }
      await sleep(200);
    }
    throw new Error(`jit process ${options.name} not ready after ${timeoutMs} ms (${last})\n${tailOf(logFile)}`);
  };

  const proc: JitProcess = {
    name: options.name,
    services: options.services,
    logFile,
    url: () => `http://127.0.0.1:${port}`,
    pid: () => (alive() ? child?.pid : undefined),
    running: alive,
    starts: () => starts,
    async start() {
      if (alive()) throw new Error(`jit process ${options.name} is already running`);
      port = await freePort();
      starts += 1;
      const fd = openSync(logFile, 'a');
      try {
        child = spawn(process.execPath, [JIT_BIN, 'serve', '--services', options.services.join(',')], {
          cwd: REPO_ROOT,
          env: childEnv({ JIT_HOST: '127.0.0.1', JIT_LOG_LEVEL: 'info', ...options.env, JIT_PORT: String(port) }),
          stdio: ['ignore', fd, fd],
        });
      } finally {
        closeSync(fd);
      }
      const current = child;
      exited = new Promise((resolve) => current.once('exit', (code) => resolve(code)));
      try {
        await waitReady();
      } catch (error) {
        await proc.kill();
        throw error;
      }
    },
    async kill() {
      if (!alive()) return;
      child!.kill('SIGKILL');
      await exited;
    },
    async stop(timeoutMs = 20_000) {
      if (!alive()) return child?.exitCode ?? null;
      child!.kill('SIGTERM');
      const timer = setTimeout(() => child?.kill('SIGKILL'), timeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
    logLines(match) {
      let text = '';
      try {
        text = readFileSync(logFile, 'utf8');
      } catch {
        return [];
      }
      return text.split('\n').flatMap((line) => {
        if (!line.startsWith('{')) return [];
        try {
          const entry = JSON.parse(line) as { msg?: unknown; pid?: unknown; time?: unknown };
          if (typeof entry.msg !== 'string' || !match.test(entry.msg)) return [];
          return [{ msg: entry.msg, pid: Number(entry.pid), time: typeof entry.time === 'string' ? Date.parse(entry.time) : Number(entry.time), line }];
        } catch {
          return [];
        }
      });
    },
    tail: (lines = 40) => tailOf(logFile, lines),
  };
  return proc;
}

export async function runJit(args: readonly string[], env: Readonly<Record<string, string>>, timeoutMs = 120_000): Promise<CommandResult> {
  assertBuilt();
  const child = spawn(process.execPath, [JIT_BIN, ...args], { cwd: REPO_ROOT, env: childEnv({ JIT_LOG_LEVEL: 'warn', ...env }), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
  clearTimeout(timer);
  if (code === null) throw new Error(`jit ${args.join(' ')} did not finish within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`);
  return { code, stdout, stderr };
}
