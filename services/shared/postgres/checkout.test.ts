import t from 'tap';
import { createTestDatabase } from '../../../test/support/postgres.js';
import { checkout, createPgPool } from './database.js';

const database = await createTestDatabase('checkout');
t.teardown(database.drop);

t.test('a checked-out client whose connection the server ends between statements raises no uncaught error', async (t) => {
  const pool = createPgPool(database.url, { max: 2 });
  t.teardown(() => pool.end());
  const uncaught: unknown[] = [];
  const record = (error: unknown) => void uncaught.push(error);
  process.on('uncaughtException', record);
  t.teardown(() => void process.off('uncaughtException', record));

  const client = await checkout(pool);
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  // Idle and checked out, as between the two round trips of a projected batch.
  await pool.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
  await new Promise((resolve) => setTimeout(resolve, 200));
  await t.rejects(client.query('SELECT 1'), 'the next statement on it fails instead');
  client.release(true);
  t.same(uncaught, [], 'nothing uncaught');
  t.equal((await pool.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one, 1, 'the pool goes on with a new connection');
});

t.test('release takes the guard off: a client checked out again and again carries one', async (t) => {
  const pool = createPgPool(database.url, { max: 1 });
  t.teardown(() => pool.end());
  for (let i = 0; i < 5; i++) {
    const client = await checkout(pool);
    t.equal(client.listenerCount('error'), 1, `checkout ${i + 1}: only its own guard`);
    client.release();
  }
});
