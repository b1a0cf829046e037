/**
 * Tools for test/deploy: the real Helm binary, the Kubernetes object validator (the official
 * Kubernetes Java client's models), a Dockerfile parser/linter and the Compose Specification JSON
 * schema. test/deploy/tools/fetch.sh puts them under .cache/deploy-tools (idempotent); the first
 * call here runs it, and a missing prerequisite (npm, mvn, java) fails the test loudly.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CHART_DIR = join(REPO_ROOT, 'deploy', 'helm', 'jit-provisioning');
const TOOLS_SOURCE = join(REPO_ROOT, 'test', 'deploy', 'tools');

let toolsDir: string | undefined;

/** Runs fetch.sh (a no-op once everything is in .cache) and answers the tools folder. */
export function deployTools(): string {
  if (toolsDir) return toolsDir;
  const result = spawnSync('bash', [join(TOOLS_SOURCE, 'fetch.sh')], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 900_000 });
  if (result.status !== 0) {
    throw new Error(`test/deploy/tools/fetch.sh failed (exit ${result.status ?? result.signal}):\n${result.stderr}\n${result.stdout}`);
  }
  toolsDir = result.stdout.trim().split('\n').pop()!;
  return toolsDir;
}

/** require() for the npm tools installed in .cache/deploy-tools/npm (kept out of node_modules). */
export function requireTool<T>(name: string): T {
  const require = createRequire(join(deployTools(), 'npm', 'package.json'));
  return require(name) as T;
}

/** The path of a file of the npm tools (require.resolve from .cache/deploy-tools/npm). */
export function resolveTool(name: string): string {
  return createRequire(join(deployTools(), 'npm', 'package.json')).resolve(name);
}

// ---------------------------------------------------------------------------------------------
// Kubernetes objects

export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
};

export type HelmResult = { status: number; stdout: string; stderr: string; objects: K8sObject[] };

/** `helm <args…>` with the fetched binary; HELM_* state kept in a throw-away folder. */
export function helm(args: readonly string[]): { status: number; stdout: string; stderr: string } {
  const home = mkdtempSync(join(tmpdir(), 'jit-helm-'));
  try {
    const result = spawnSync(join(deployTools(), 'helm', 'helm'), args, {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 120_000,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, HELM_CACHE_HOME: join(home, 'cache'), HELM_CONFIG_HOME: join(home, 'config'), HELM_DATA_HOME: join(home, 'data') },
    });
    if (result.error) throw result.error;
    return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

/** `helm template <release> <chart> …` parsed into objects (empty documents dropped). */
export function helmTemplate(release: string, namespace: string, extraArgs: readonly string[] = []): HelmResult {
  const result = helm(['template', release, CHART_DIR, '--namespace', namespace, ...extraArgs]);
  const objects = result.status === 0 ? parseYamlDocuments(result.stdout, 'helm template output') : [];
  return { ...result, objects: objects as K8sObject[] };
}

/** Every document of a multi-document YAML text; a syntax error or warning throws. */
export function parseYamlDocuments(text: string, what: string): unknown[] {
  const documents = YAML.parseAllDocuments(text);
  const objects: unknown[] = [];
  for (const document of documents) {
    const problems = [...document.errors, ...document.warnings];
    if (problems.length > 0) throw new Error(`${what}: ${problems.map((p) => p.message).join('; ')}`);
    const value: unknown = document.toJS();
    if (value !== null && value !== undefined) objects.push(value);
  }
  return objects;
}

/** Parses one YAML file strictly (merge keys on, as Compose reads them); errors and warnings throw. */
export function parseYamlFile(path: string): unknown {
  const document = YAML.parseDocument(readFileSync(path, 'utf8'), { merge: true, uniqueKeys: true });
  const problems = [...document.errors, ...document.warnings];
  if (problems.length > 0) throw new Error(`${path}: ${problems.map((p) => p.message).join('; ')}`);
  return document.toJS({ maxAliasCount: 100 });
}

export type K8sValidation = { index: number; kind: string; name: string; model: string; error: string | null };

/**
 * Checks objects against the Kubernetes 1.32 API models of the official Java client: unknown
 * fields, missing required fields and wrongly typed values are errors. One JVM for all objects.
 */
export function validateK8sObjects(objects: readonly unknown[]): K8sValidation[] {
  const dir = mkdtempSync(join(tmpdir(), 'jit-k8s-validate-'));
  try {
    const input = join(dir, 'objects.json');
    writeFileSync(input, JSON.stringify(objects));
    const output = execFileSync('java', ['-cp', join(deployTools(), 'k8s-validator', 'libs', '*'), join(TOOLS_SOURCE, 'K8sValidate.java'), input], {
      encoding: 'utf8',
      timeout: 180_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return JSON.parse(output) as K8sValidation[];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Dockerfile (dockerfile-ast / dockerfile-utils, the parser and linter behind VS Code's Docker support)

type Range = { start: { line: number } };
type Argument = { getValue(): string };
type Flag = { getName(): string; getValue(): string | null };
export type DockerInstruction = {
  getKeyword(): string;
  getArguments(): Argument[];
  getArgumentsContent(): string | null;
  getRange(): Range;
  getFlags?(): Flag[];
  getJSONStrings?(): { getValue(): string; getJSONValue(): string }[];
  getImageName?(): string | undefined;
  getImageTag?(): string | undefined;
  getBuildStage?(): string | null;
  getProperties?(): { getName(): string; getValue(): string | null }[];
};
type Dockerfile = { getInstructions(): DockerInstruction[] };
type DockerfileAst = { DockerfileParser: { parse(content: string): Dockerfile } };
type DockerfileUtils = { validate(content: string): { message: string; range: Range; severity: number }[] };

export type DockerStage = { name: string | null; image: string; instructions: DockerInstruction[] };

/** Parses a Dockerfile into its global instructions and build stages; ARG defaults are resolved in FROM. */
export function parseDockerfile(content: string): { globals: DockerInstruction[]; stages: DockerStage[] } {
  const ast = requireTool<DockerfileAst>('dockerfile-ast');
  const globals: DockerInstruction[] = [];
  const stages: DockerStage[] = [];
  const args = new Map<string, string>();
  for (const instruction of ast.DockerfileParser.parse(content).getInstructions()) {
    const keyword = instruction.getKeyword();
    if (keyword === 'FROM') {
      const image = `${instruction.getImageName?.() ?? ''}:${instruction.getImageTag?.() ?? 'latest'}`.replace(/\$\{(\w+)\}/g, (_, name: string) => args.get(name) ?? '');
      stages.push({ name: instruction.getBuildStage?.() ?? null, image, instructions: [] });
    } else if (stages.length === 0) {
      globals.push(instruction);
      if (keyword === 'ARG') {
        const [name, value] = (instruction.getArgumentsContent() ?? '').split('=', 2);
        if (name && value !== undefined) args.set(name.trim(), value.trim());
      }
    } else {
      stages.at(-1)!.instructions.push(instruction);
    }
  }
  return { globals, stages };
}

/** dockerfile-utils' diagnostics (unknown instructions or flags, malformed arguments, …). */
export function lintDockerfile(content: string): { message: string; line: number; severity: number }[] {
  const utils = requireTool<DockerfileUtils>('dockerfile-utils');
  return utils.validate(content).map((d) => ({ message: d.message, line: d.range.start.line + 1, severity: d.severity }));
}

// ---------------------------------------------------------------------------------------------
// Compose

/**
 * Compose's variable interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error},
 * ${VAR?error}, $VAR and $$ (a literal $), applied to every string of the parsed file.
 */
export function interpolateCompose<T>(value: T, env: Record<string, string | undefined>): T {
  const one = (text: string): string =>
    text.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (match, name?: string, op?: string, arg?: string, bare?: string) => {
      if (match === '$$') return '$';
      if (bare) return env[bare] ?? '';
      const current = env[name!];
      const unsetOrEmpty = op?.startsWith(':') ? !current : current === undefined;
      if (op?.endsWith('-')) return unsetOrEmpty ? (arg ?? '') : current!;
      if (op?.endsWith('?')) {
        if (unsetOrEmpty) throw new Error(`compose: required variable ${name} is missing: ${arg}`);
        return current!;
      }
      return current ?? '';
    });
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return one(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(value) as T;
}
