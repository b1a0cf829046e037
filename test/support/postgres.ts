/**
 * Throwaway PostgreSQL databases for tests, on the server `make test` makes sure is running
 * (JIT_TEST_PG_URL, default postgres://postgres@127.0.0.1:5432/postgres). A missing server fails
 * the test loudly; it never skips.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const ADMIN_URL = process.env['JIT_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

export async function createTestDatabase(label = 'test'): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `jit_${label.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  try {
    await admin.connect();
  } catch (error) {
    throw new Error(`PostgreSQL is not reachable at ${ADMIN_URL} (make test starts it): ${String(error)}`, { cause: error });
  }
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  return {
    url: withDatabase(ADMIN_URL, name),
    drop: async () => {
      const c = new pg.Client({ connectionString: ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export type RecordedStatement = { text: string; values: unknown[]; name?: string };

type QueryConfig = { text: string; values?: unknown[]; name?: string };

/** Records every statement sent through pool.query from now on (text, values, name if named), for plan tests. */
export function recordStatements(pool: pg.Pool): RecordedStatement[] {
  const statements: RecordedStatement[] = [];
  const query = pool.query.bind(pool) as (text: string | QueryConfig, values?: unknown[]) => Promise<unknown>;
  (pool as unknown as { query: typeof query }).query = (text, values) => {
    if (typeof text === 'string') statements.push({ text, values: values ?? [] });
    else statements.push({ text: text.text, values: text.values ?? [], ...(text.name ? { name: text.name } : {}) });
    return query(text, values);
  };
  return statements;
}

type PlanNode = { 'Node Type'?: string; 'Relation Name'?: string; Plans?: PlanNode[] };

/**
 * The plan of a recorded statement with sequential scans priced out: a plan still shows one only
 * where no index can serve (say, an equality in a collation other than the index's). `json` is the
 * whole plan, `seqScans` the tables scanned sequentially all the same.
 */
export async function planWithoutSeqScans(pool: pg.Pool, statement: RecordedStatement): Promise<{ json: string; seqScans: string[] }> {
  const client = await pool.connect();
  try {
    await client.query('SET enable_seqscan = off');
    const { rows } = await client.query<{ 'QUERY PLAN': { Plan: PlanNode }[] }>(`EXPLAIN (FORMAT JSON) ${statement.text}`, statement.values);
    const plan = rows[0]!['QUERY PLAN'];
    const seqScans: string[] = [];
    const walk = (node: PlanNode) => {
      if (node['Node Type'] === 'Seq Scan') seqScans.push(node['Relation Name'] ?? '?');
      for (const child of node.Plans ?? []) walk(child);
    };
    walk(plan[0]!.Plan);
    return { json: JSON.stringify(plan), seqScans };
  } finally {
    await client.query('RESET enable_seqscan');
    client.release();
  }
}

/**
 * The generic plan of a recorded statement (the one PostgreSQL may settle on for a named
 * statement after a few runs): prepared, with plan_cache_mode forced, explained on its values.
 */
export async function genericPlan(pool: pg.Pool, statement: RecordedStatement): Promise<string> {
  const client = await pool.connect();
  try {
    await client.query('SET plan_cache_mode = force_generic_plan');
    await client.query(`PREPARE jit_generic_probe AS ${statement.text}`);
    // EXECUTE takes its arguments as SQL text, not as bound parameters.
    const literal = (value: unknown): string =>
      Array.isArray(value)
        ? client.escapeLiteral(`{${value.map((v) => `"${String(v).replace(/["\\]/g, '\\$&')}"`).join(',')}}`)
        : client.escapeLiteral(String(value));
    const args = statement.values.map(literal).join(', ');
    const { rows } = await client.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) EXECUTE jit_generic_probe(${args})`);
    return JSON.stringify(rows[0]!['QUERY PLAN']);
  } finally {
    await client.query('DEALLOCATE ALL; RESET plan_cache_mode');
    client.release();
  }
}
