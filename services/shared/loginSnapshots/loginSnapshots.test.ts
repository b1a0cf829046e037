import t from 'tap';
import { createTestDatabase } from '../../../test/support/postgres.js';
import { createPgPool } from '../postgres/database.js';
import { openSqliteDatabase } from '../sqlite/database.js';
import { getPostgresLoginSnapshots, getSqliteLoginSnapshots } from './loginSnapshots.js';
import { testLoginSnapshotsContract } from './loginSnapshotsContract.js';

testLoginSnapshotsContract(t, 'sqlite', async () => {
  const db = openSqliteDatabase(':memory:');
  return { snapshots: getSqliteLoginSnapshots(db), cleanup: async () => void db.close() };
});

const database = await createTestDatabase('login_snapshots');
t.teardown(database.drop);
testLoginSnapshotsContract(t, 'postgres', async () => {
  const pool = createPgPool(database.url);
  return { snapshots: await getPostgresLoginSnapshots(pool), cleanup: () => pool.end() };
});
