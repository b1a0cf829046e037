/**
 * The relay's leader lock on the real PostgreSQL: one holder at a time; a holder whose session is
 * terminated learns it lost the lock, and its broken connection leaves the pool (no leaked slot).
 */
import t from 'tap';
import { acquireLeadership } from '../../services/shared/postgres/leadership.js';
import { createPgPool } from '../../services/shared/postgres/database.js';
import { createTestDatabase } from '../support/postgres.js';

const KEY = 0x6a69745f7465; // "jit_te", not the relay's key
const database = await createTestDatabase('leadership');
const pool = createPgPool(database.url, { max: 4 });
t.teardown(async () => {
  await pool.end();
  await database.drop();
});
const checkedOut = () => pool.totalCount - pool.idleCount;
const holders = async () => {
  const { rows } = await pool.query<{ pid: number }>(
    `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1 AND ((classid::bigint << 32) | objid::bigint) = $1
       AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    [KEY],
  );
  return rows.map((r) => r.pid);
};

t.test('one holder at a time; a terminated session is a lost lease, and its connection is gone', async (t) => {
  const first = await acquireLeadership(pool, KEY, { checkMs: 200 });
  t.ok(first, 'the first caller leads');
  t.equal((await holders()).length, 1);
  const second = acquireLeadership(pool, KEY, { retryMs: 100, signal: AbortSignal.timeout(1000) });
  t.equal(await second, undefined, 'a second caller does not get the lock while it is held');

  const [pid] = await holders();
  await pool.query('SELECT pg_terminate_backend($1)', [pid]);
  const lost = await Promise.race([first!.lost.then(() => true), new Promise((resolve) => setTimeout(() => resolve(false), 10_000))]);
  t.ok(lost, 'the holder learns that its session ended');
  t.equal(checkedOut(), 0, 'the broken connection is not held out of the pool');
  await t.resolves(first!.release(), 'releasing a lost lease is harmless');

  const third = await acquireLeadership(pool, KEY, { retryMs: 100, signal: AbortSignal.timeout(10_000) });
  t.ok(third, 'the lock can be taken again');
  await third!.release();
  await third!.release();
  t.same(await holders(), [], 'released');
  t.equal(checkedOut(), 0, 'every connection is back or closed');
});
