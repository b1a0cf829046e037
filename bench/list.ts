/**
 * list: requests/s and p99 of GET /rest/authconfig/1.0/jit-users?limit=1000 with 100,000 users,
 * first page and a deep page (Atlassian's start=99000, and the Link header's keyset cursor), driven
 * by autocannon against the real server. Baseline: a bare Fastify route answering the first page's
 * bytes from memory, driven the same way.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { encodeCursor } from '../services/projections/cursor.js';
import { cannon, type CannonResult } from './lib/cannon.js';
import { startServer } from './lib/serverProcess.js';
import { ratioResult, withinResult, type BenchResult } from './lib/results.js';

export type ListSettings = { databaseUrl: string; users: number; seconds: number; connections: number; profile: boolean; log: (line: string) => void };

const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';
const PATH = '/rest/authconfig/1.0/jit-users';
const FIRST_PAGE_TARGET = 0.7;
const DEEP_TOLERANCE = 0.2;

async function cursorAt(databaseUrl: string, start: number): Promise<string> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ username_key: string; user_id: string }>(
      'SELECT username_key, user_id FROM jit_users ORDER BY username_key COLLATE "C", user_id OFFSET $1 LIMIT 1',
      [start - 1],
    );
    return encodeCursor({ usernameKey: rows[0]!.username_key, userId: rows[0]!.user_id });
  } finally {
    await client.end();
  }
}

export async function listBenchmark(settings: ListSettings): Promise<BenchResult[]> {
  const { log } = settings;
  const headers = { authorization: `Bearer ${ADMIN_TOKEN}` };
  const deepStart = settings.users - 1000;
  const drive = (url: string): Promise<CannonResult> => cannon({ url, connections: settings.connections, duration: settings.seconds, headers });
  const server = await startServer(['jit'], {
    JIT_DATABASE_URL: settings.databaseUrl,
    JIT_ADMIN_TOKENS: ADMIN_TOKEN,
    JIT_SERVICES: 'api',
    JIT_LOG_LEVEL: 'silent',
  }, settings.profile ? { profile: 'list' } : {});
  const dir = mkdtempSync(join(tmpdir(), 'jit-bench-list-'));
  try {
    const firstUrl = `${server.url}${PATH}?limit=1000`;
    const first = await fetch(firstUrl, { headers });
    if (first.status !== 200) throw new Error(`GET ${PATH} answered ${first.status}`);
    const body = Buffer.from(await first.arrayBuffer());
    const total = first.headers.get('x-total-count');
    if (Number(total) !== settings.users) throw new Error(`X-Total-Count is ${total}, expected ${settings.users}`);
    const cursor = await cursorAt(settings.databaseUrl, deepStart);
    const deepStartUrl = `${server.url}${PATH}?limit=1000&start=${deepStart}`;
    const deepCursorUrl = `${server.url}${PATH}?limit=1000&start=${deepStart}&cursor=${cursor}`;
    const [byStart, byCursor] = await Promise.all([fetch(deepStartUrl, { headers }).then((r) => r.text()), fetch(deepCursorUrl, { headers }).then((r) => r.text())]);
    if (byStart !== byCursor) throw new Error('the deep page by start and by cursor differ');

    const bodyFile = join(dir, 'page.json');
    writeFileSync(bodyFile, body);
    const bareHeaders = { 'content-type': first.headers.get('content-type') ?? 'application/json', link: first.headers.get('link') ?? '', 'x-total-count': total ?? '', vary: 'accept' };
    const bare = await startServer(['bare', bodyFile, JSON.stringify(bareHeaders)], {});
    let baseline: CannonResult;
    try {
      await drive(`${bare.url}${PATH}?limit=1000`);
      baseline = await drive(`${bare.url}${PATH}?limit=1000`);
    } finally {
      await bare.stop();
    }
    await drive(firstUrl);
    const firstPage = await drive(firstUrl);
    const deepByStart = await drive(deepStartUrl);
    const deepByCursor = await drive(deepCursorUrl);
    const line = (name: string, r: CannonResult) => log(`list ${name}: ${r.requestsPerSecond.toFixed(0)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms, ${r.errors} errors, ${r.non2xx} non-2xx`);
    line('bare route', baseline);
    line('first page', firstPage);
    line(`start=${deepStart}`, deepByStart);
    line('cursor', deepByCursor);
    for (const r of [firstPage, deepByStart, deepByCursor]) if (r.errors + r.non2xx > 0) throw new Error('the list benchmark saw errors');
    const p99 = (r: CannonResult) => `p99 ${r.p99} ms (bare ${baseline.p99} ms)`;
    return [
      ratioResult('list', 'first page (limit=1000)', 'req/s', firstPage.requestsPerSecond, baseline.requestsPerSecond, FIRST_PAGE_TARGET, p99(firstPage)),
      withinResult('list', `deep page start=${deepStart}`, 'req/s', deepByStart.requestsPerSecond, firstPage.requestsPerSecond, DEEP_TOLERANCE, `p99 ${deepByStart.p99} ms (first ${firstPage.p99} ms)`),
      withinResult('list', 'deep page via Link cursor', 'req/s', deepByCursor.requestsPerSecond, firstPage.requestsPerSecond, DEEP_TOLERANCE, `p99 ${deepByCursor.p99} ms (first ${firstPage.p99} ms)`),
    ];
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
