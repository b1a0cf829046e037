/**
 * LISTEN on a dedicated connection, so subscribers in this process wake as soon as any process
 * commits an append. If the connection drops it is re-established; polling covers the gap.
 */
import type { PgPool } from '../postgres/database.js';
import type pg from 'pg';

export function listenForNotifications(pool: PgPool, channel: string, onNotify: () => void): { stop(): Promise<void> } {
  let client: pg.PoolClient | undefined;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;

  const connect = async (): Promise<void> => {
    if (stopped) return;
    try {
      const c = await pool.connect();
      client = c;
      c.on('notification', () => onNotify());
      c.on('error', () => {
        c.release(true);
        if (client === c) client = undefined;
        schedule();
      });
      await c.query(`LISTEN ${channel}`);
      if (stopped) {
        c.release(true);
        client = undefined;
      }
    } catch {
      schedule();
    }
  };
  const schedule = () => {
    if (stopped) return;
    retry = setTimeout(() => void connect(), 1000);
    retry.unref();
  };
  void connect();
  return {
    async stop() {
      stopped = true;
      if (retry) clearTimeout(retry);
      const c = client;
      client = undefined;
      if (c) {
        await c.query(`UNLISTEN ${channel}`).catch(() => undefined);
        c.release(true);
      }
    },
  };
}
