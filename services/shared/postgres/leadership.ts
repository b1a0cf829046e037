/**
 * Single-writer leadership through a PostgreSQL session advisory lock, held on a dedicated
 * connection: only one relay publishes at a time, so the topic keeps the store's order.
 */
import type { PgPool } from './database.js';

export type Leadership = { readonly lost: Promise<void>; release(): Promise<void> };

export async function acquireLeadership(pool: PgPool, key: number, options: { signal?: AbortSignal; retryMs?: number } = {}): Promise<Leadership | undefined> {
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
    if (held) {
      let markLost!: () => void;
      const lost = new Promise<void>((resolve) => (markLost = resolve));
      client.on('error', () => markLost());
      return {
        lost,
        async release() {
          await client.query('SELECT pg_advisory_unlock($1)', [key]).catch(() => undefined);
          client.release(true);
          markLost();
        },
      };
    }
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
