import t from 'tap';
import { openSqliteDatabase } from '../sqlite/database.js';
import { testEventStoreContract } from './eventStoreContract.js';
import { categorySql, getSqliteEventStore } from './sqliteEventStore.js';

testEventStoreContract(t, 'sqlite (file)', async () => {
  const dir = t.testdir();
  const db = openSqliteDatabase({ dataDir: dir });
  const store = getSqliteEventStore(db);
  return { store, cleanup: async () => { await store.close(); db.close(); } };
});

testEventStoreContract(t, 'sqlite (memory)', async () => {
  const db = openSqliteDatabase(':memory:');
  const store = getSqliteEventStore(db);
  return { store, cleanup: async () => { await store.close(); db.close(); } };
});

t.test('migrations are idempotent: reopening a store keeps its events', async (t) => {
  const dir = t.testdir();
  const db = openSqliteDatabase({ dataDir: dir });
  const store = getSqliteEventStore(db);
  const { deactivated } = await import('./eventStoreContract.js');
  await store.appendToStream('s', [deactivated()], { expectedRevision: 'no-stream' });
  db.close();
  const reopened = openSqliteDatabase({ dataDir: dir });
  t.teardown(() => reopened.close());
  const again = getSqliteEventStore(reopened);
  t.equal(await again.headPosition(), 1);
});

t.test('the idp-* category is read through its partial index', async (t) => {
  const db = openSqliteDatabase(':memory:');
  t.teardown(() => db.close());
  getSqliteEventStore(db);
  const plan = db
    .prepare<[number, number], { detail: string }>(`EXPLAIN QUERY PLAN ${categorySql('idp-')}`)
    .all(0, 10)
    .map((row) => row.detail)
    .join('\n');
  t.match(plan, /USING INDEX events_idp_by_position/, plan);
});
