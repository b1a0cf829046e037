import t from 'tap';
import { createTestDatabase } from '../../../test/support/postgres.js';
import { createPgPool } from '../postgres/database.js';
import { deactivated, testEventStoreContract } from './eventStoreContract.js';
import { getPostgresEventStore } from './postgresEventStore.js';

const database = await createTestDatabase('event_store');
t.teardown(database.drop);

let n = 0;
testEventStoreContract(t, 'postgres', async () => {
  // Each contract case gets an empty store: a fresh schema in the shared database.
  const schema = `case_${++n}`;
  const setup = createPgPool(database.url, { max: 1 });
  await setup.query(`CREATE SCHEMA ${schema}`);
  await setup.end();
  const url = new URL(database.url);
  url.searchParams.set('options', `-c search_path=${schema}`);
  const pool = createPgPool(url.toString());
  const store = await getPostgresEventStore(pool);
  return { store, cleanup: async () => { await store.close(); await pool.end(); } };
});

t.test('postgres: readers never skip an event, with many concurrent writers in separate pools', async (t) => {
  const pools = Array.from({ length: 4 }, () => createPgPool(database.url, { max: 4 }));
  const readerPool = createPgPool(database.url, { max: 2 });
  t.teardown(async () => {
    for (const pool of [...pools, readerPool]) await pool.end();
  });
  // One store per pool, as if four processes shared the database.
  const stores = await Promise.all(pools.map((pool) => getPostgresEventStore(pool)));
  const reader = await getPostgresEventStore(readerPool);
  const start = await reader.headPosition();
  const seen: number[] = [];
  let last = start;
  let readerErrors = 0;
  let writing = true;
  const readLoop = (async () => {
    while (writing || last < (await reader.headPosition())) {
      const batch = await reader.readAll({ after: last, maxCount: 50 });
      for (const event of batch) {
        if (event.position !== last + 1) readerErrors += 1;
        last = event.position;
        seen.push(event.position);
      }
    }
  })();
  const writers = stores.flatMap((store, w) =>
    Array.from({ length: 8 }, async (_, c) => {
      for (let i = 0; i < 25; i++) {
        const events = Array.from({ length: 1 + ((i + c) % 3) }, () => deactivated());
        await store.appendToStream(`conc-${w}-${c}`, events, { expectedRevision: 'any' });
      }
    }),
  );
  await Promise.all(writers);
  writing = false;
  await readLoop;
  const head = await reader.headPosition();
  for (const store of [...stores, reader]) await store.close();
  t.equal(readerErrors, 0, 'the reader saw positions in order without a gap');
  t.equal(seen.length, head - start, 'the reader saw every committed event');
  t.same(seen, Array.from({ length: head - start }, (_, i) => start + i + 1));
});
