import t from 'tap';
import { openSqliteDatabase } from '../shared/sqlite/database.js';
import { testReadModelContract } from './readModelContract.js';
import { getSqliteReadModel } from './sqliteReadModel.js';

testReadModelContract(t, 'sqlite', async () => {
  const db = openSqliteDatabase(':memory:');
  return { model: getSqliteReadModel(db), cleanup: async () => void db.close() };
});

testReadModelContract(t, 'sqlite (suffixed tables)', async () => {
  const db = openSqliteDatabase(':memory:');
  return { model: getSqliteReadModel(db, { suffix: '_replay' }), cleanup: async () => void db.close() };
});
