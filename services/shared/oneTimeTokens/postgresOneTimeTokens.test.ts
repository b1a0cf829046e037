import t from 'tap';
import { createTestDatabase } from '../../../test/support/postgres.js';
import { createPgPool } from '../postgres/database.js';
import { testOneTimeTokensContract } from './oneTimeTokensContract.js';
import { getPostgresOneTimeTokens } from './postgresOneTimeTokens.js';

const database = await createTestDatabase('one_time_tokens');
t.teardown(database.drop);

testOneTimeTokensContract(t, 'postgres', async (now) => {
  const pool = createPgPool(database.url);
  const tokens = await getPostgresOneTimeTokens(pool, now);
  await pool.query('DELETE FROM jit_one_time_tokens');
  return { tokens, cleanup: () => pool.end() };
});
