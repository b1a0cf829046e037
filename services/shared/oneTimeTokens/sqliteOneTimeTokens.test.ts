import t from 'tap';
import { openSqliteDatabase } from '../sqlite/database.js';
import { testOneTimeTokensContract } from './oneTimeTokensContract.js';
import { getSqliteOneTimeTokens } from './sqliteOneTimeTokens.js';

testOneTimeTokensContract(t, 'sqlite', async (now) => {
  const db = openSqliteDatabase(':memory:');
  return { tokens: getSqliteOneTimeTokens(db, now), cleanup: async () => void db.close() };
});
