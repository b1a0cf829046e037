import t from 'tap';
import { createTestDatabase, genericPlan, planWithoutSeqScans, recordStatements } from '../../../test/support/postgres.js';
import { createPgPool } from '../postgres/database.js';
import { deactivated, testEventStoreContract } from './eventStoreContract.js';
import { getPostgresEventStore } from './postgresEventStore.js';

const database = await createTestDatabase('event_store');
t.teardown(database.drop);

/** A store on a fresh schema of the test database: an empty store per caller. */
async function storeOnSchema(schema: string) {
  const setup = createPgPool(database.url, { max: 1 });
  await setup.query(`CREATE SCHEMA ${schema}`);
  await setup.end();
  const url = new URL(database.url);
  url.searchParams.set('options', `-c search_path=${schema}`);
  const pool = createPgPool(url.toString());
  const store = await getPostgresEventStore(pool);
  return { pool, store, close: async () => (await store.close(), await pool.end()) };
}

let n = 0;
testEventStoreContract(t, 'postgres', async () => {
  const { store, close } = await storeOnSchema(`case_${++n}`);
  return { store, cleanup: close };
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

/** A store on its own schema of the test database, with every statement it sends recorded. */
async function recordedStore(schema: string) {
  const { pool, store, close } = await storeOnSchema(schema);
  return { pool, store, statements: recordStatements(pool), close };
}

t.test('postgres: concurrent login reads share statements, and each stays an index lookup per key', async (t) => {
  const { pool, store, statements, close } = await recordedStore('grouped_reads');
  t.teardown(close);
  for (let s = 0; s < 40; s++) {
    await store.appendToStream(`grp-${s}`, [deactivated(), deactivated()], { expectedRevision: 'no-stream', claims: [{ scope: 'identity', key: `k${s}`, owner: `o${s}` }] });
  }
  statements.length = 0;
  const answers = await Promise.all(
    Array.from({ length: 40 }, (_, s) => store.readStreamWithClaims!(`grp-${s}`, { fromRevision: s % 3, claims: [{ scope: 'identity', key: `k${s}` }] })),
  );
  t.same(answers.map((a) => a.owners[0]), Array.from({ length: 40 }, (_, s) => `o${s}`));
  t.same(answers.map((a) => a.events.length), Array.from({ length: 40 }, (_, s) => Math.max(0, 2 - (s % 3))));
  t.ok(statements.length <= 3, `40 concurrent reads took ${statements.length} statements (the first ones go alone, the rest together)`);

  const plan = (await planWithoutSeqScans(pool, statements.at(-1)!)).json;
  t.notMatch(plan, /"Seq Scan"/, 'no sequential scan');
  t.notMatch(plan, /"Hash Join"/, 'no hash join over a whole table');
  t.match(plan, /jit_events_stream_id_revision_key/, 'events by (stream_id, revision)');
  t.match(plan, /jit_claims_pkey/, 'claims by (scope, key)');

  // The statement is named: PostgreSQL may switch to a generic plan, which must look the same.
  t.equal(statements.at(-1)!.name, 'jit-read-streams-with-claims', 'a named statement');
  const generic = await genericPlan(pool, statements.at(-1)!);
  t.notMatch(generic, /"Seq Scan"/, 'generic plan: no sequential scan');
  t.notMatch(generic, /"Hash Join"/, 'generic plan: no hash join');
  t.match(generic, /jit_events_stream_id_revision_key/, 'generic plan: events by (stream_id, revision)');
  t.match(generic, /jit_claims_pkey/, 'generic plan: claims by (scope, key)');
});

t.test('postgres: a stream that cannot be read fails only its own caller in a grouped read', async (t) => {
  const { pool, store, close } = await recordedStore('grouped_read_failure');
  t.teardown(close);
  await store.appendToStream('good', [deactivated()], { expectedRevision: 'no-stream' });
  // A row no adapter would write (metadata JSON null), put there behind the store's back.
  await pool.query(
    `INSERT INTO jit_events (position, event_id, stream_id, revision, type, data, metadata, recorded_at)
     VALUES (1000, gen_random_uuid(), 'broken', 0, 'UserDeactivated', '{}', 'null', now())`,
  );
  const calls = Array.from({ length: 12 }, (_, i) => store.readStreamWithClaims!(i % 4 === 3 ? 'broken' : 'good', { claims: [] }));
  const settled = await Promise.allSettled(calls);
  settled.forEach((result, i) => {
    if (i % 4 === 3) t.equal(result.status, 'rejected', `caller ${i} (broken stream) fails`);
    else t.ok(result.status === 'fulfilled' && result.value.events.length === 1, `caller ${i} (good stream) gets its event`);
  });
});

t.test('postgres: a category subscription reads through the partial index of its streams', async (t) => {
  const { pool, store, statements, close } = await recordedStore('category_reads');
  t.teardown(close);
  await store.appendToStream('idp-okta', [deactivated()], { expectedRevision: 'no-stream' });
  await store.appendToStream('user-1', [deactivated()], { expectedRevision: 'no-stream' });
  statements.length = 0;
  const subscription = store.subscribeToAll({ after: 0, streamPrefix: 'idp-', handler: () => undefined });
  await subscription.caughtUp;
  await subscription.stop();
  const read = statements.find((s) => s.text.includes('jit_log_head h'))!;
  t.ok(read, 'the category read was sent');
  const plan = await planWithoutSeqScans(pool, read);
  t.match(plan.json, /jit_events_idp_by_position/, 'the idp-* positions index');
  t.same(plan.seqScans, ['jit_log_head'], 'no sequential scan but of the one-row head');
});
