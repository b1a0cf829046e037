/**
 * Single-writer leadership through a PostgreSQL session advisory lock, held on a dedicated
 * connection: only one relay publishes at a time, so the topic keeps the store's order.
 */
import type { PgClient, PgPool } from './database.js';

export type Leadership = { readonly lost: Promise<void>; release(): Promise<void> };

export type LeadershipOptions = {
  signal?: AbortSignal;
  retryMs?: number;
  /** How often the lock's session is checked while held. */
  checkMs?: number;
  /** A check unanswered this long counts as a lost session. */
  checkTimeoutMs?: number;
};

export async function acquireLeadership(pool: PgPool, key: number, options: LeadershipOptions = {}): Promise<Leadership | undefined> {
  const retryMs = options.retryMs ?? 2000;
  while (!options.signal?.aborted) {
    const client = await pool.connect();
    let held = false;
    try {
      const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [key]);
      held = rows[0]?.ok === true;
    } catch {
      held = false;
    }
    if (held) return holdLease(client, key, options.checkMs ?? 5000, options.checkTimeoutMs ?? 15_000);
    client.release();
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, retryMs);
      options.signal?.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve(undefined);
      });
    });
  }
  return undefined;
}

/**
 * The lock lives as long as its session, and nothing else runs on that connection: it is checked
 * every few seconds, or a session PostgreSQL already ended (and whose lock another process may
 * hold) would go unnoticed. A lost or released lease destroys its connection, never returning it
 * to the pool.
 */
function holdLease(client: PgClient, key: number, checkMs: number, checkTimeoutMs: number): Leadership {
  let ended = false;
  let markLost!: () => void;
  const lost = new Promise<void>((resolve) => (markLost = resolve));
  const end = () => {
    if (ended) return;
    ended = true;
    clearInterval(check);
    client.release(true);
    markLost();
  };
  client.on('error', end);
  const check = setInterval(() => {
    const timeout = setTimeout(end, checkTimeoutMs).unref();
    client.query('SELECT 1').then(
      () => clearTimeout(timeout),
      () => {
        clearTimeout(timeout);
        end();
      },
    );
  }, checkMs);
  check.unref();
  return {
    lost,
    async release() {
      if (ended) return;
      await client.query('SELECT pg_advisory_unlock($1)', [key]).catch(() => undefined);
      end();
    },
  };
}
