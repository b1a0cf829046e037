/**
 * LISTEN on a dedicated connection, so subscribers in this process wake as soon as any process
 * commits an append. If the connection drops it is re-established; polling covers the gap.
 */
import type { PgPool } from '../postgres/database.js';
import type pg from 'pg';

export type ListenOptions = Readonly<{
  /** LISTEN is in effect: every transaction that notifies and commits from now on reaches onNotify. */
  onListening?: () => void;
  /** The connection failed, ended or missed a health check: notifications may be lost until onListening. */
  onLost?: () => void;
  /** Delay before the next attempt after this many consecutive failures (default: 1 s). */
  retryDelayMs?: (failures: number) => number;
  /** Checks the connection this often; a check that fails or takes longer counts as a lost connection. */
  healthCheckMs?: number;
}>;

export function listenForNotifications(pool: PgPool, channel: string, onNotify: () => void, options: ListenOptions = {}): { stop(): Promise<void> } {
  /** The listening connection and its one-shot release (release twice throws). */
  let current: { client: pg.PoolClient; drop: () => void } | undefined;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  let check: NodeJS.Timeout | undefined;
  let attempt: Promise<void> | undefined;
  let failures = 0;
  const retryDelayMs = options.retryDelayMs ?? (() => 1000);

  const lost = (client: pg.PoolClient) => {
    if (current?.client !== client) return;
    const { drop } = current;
    current = undefined;
    if (check) clearInterval(check);
    check = undefined;
    drop();
    options.onLost?.();
    schedule();
  };
  const healthCheck = (client: pg.PoolClient, every: number) => {
    let checking = false;
    check = setInterval(() => {
      if (checking) return;
      checking = true;
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('health check timed out')), every);
      });
      // LISTEN again: a no-op on a healthy connection (and pg_stat_activity keeps showing what it is for).
      Promise.race([client.query(`LISTEN ${channel}`), late])
        .then(
          () => undefined,
          () => lost(client),
        )
        .finally(() => {
          clearTimeout(timer);
          checking = false;
        });
    }, every);
    check.unref();
  };
  const connect = async (): Promise<void> => {
    if (stopped) return;
    let c: pg.PoolClient;
    try {
      c = await pool.connect();
    } catch {
      schedule();
      return;
    }
    let released = false;
    const drop = () => {
      if (released) return;
      released = true;
      c.release(true);
    };
    c.on('notification', () => onNotify());
    // An error while LISTEN is pending also rejects it (below); once listening, it is a lost connection.
    c.on('error', () => {
      if (current?.client === c) lost(c);
      else drop();
    });
    try {
      await c.query(`LISTEN ${channel}`);
    } catch {
      drop();
      schedule();
      return;
    }
    if (stopped || released) {
      drop();
      if (!stopped) schedule();
      return;
    }
    current = { client: c, drop };
    failures = 0;
    if (options.healthCheckMs) healthCheck(c, options.healthCheckMs);
    options.onListening?.();
  };
  const start = () => {
    attempt = connect().finally(() => {
      attempt = undefined;
    });
  };
  const schedule = () => {
    if (stopped || retry) return;
    failures += 1;
    retry = setTimeout(() => {
      retry = undefined;
      start();
    }, retryDelayMs(failures));
    retry.unref();
  };
  start();
  return {
    async stop() {
      stopped = true;
      if (retry) clearTimeout(retry);
      if (check) clearInterval(check);
      // A connection being made is released by connect itself once it sees `stopped`.
      await attempt;
      const c = current;
      current = undefined;
      if (c) {
        await c.client.query(`UNLISTEN ${channel}`).catch(() => undefined);
        c.drop();
      }
    },
  };
}
