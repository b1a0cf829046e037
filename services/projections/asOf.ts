/**
 * Point-in-time answers ("who had which groups on 1 March?"): the user events recorded up to the
 * instant are folded into a throwaway in-memory read model, queried with the same code as the live one.
 */
import type { EventStore } from '../shared/eventStore/eventStore.js';
import { openSqliteDatabase } from '../shared/sqlite/database.js';
import type { ReadModel } from './readModel.js';
import { getSqliteReadModel } from './sqliteReadModel.js';
import { isUserStreamEvent } from './userProjection.js';

export async function withReadModelAsOf<T>(store: EventStore, instant: Date, use: (model: ReadModel) => Promise<T>): Promise<T> {
  const db = openSqliteDatabase(':memory:');
  try {
    const model = getSqliteReadModel(db);
    const limit = instant.getTime();
    for (let after = 0; ; ) {
      const batch = await store.readAll({ after, maxCount: 5000 });
      if (batch.length === 0) break;
      after = batch.at(-1)!.position;
      const upTo = batch.filter((e) => isUserStreamEvent(e) && Date.parse(e.recordedAt) <= limit);
      await model.applyEvents(upTo, 'as-of');
    }
    return await use(model);
  } finally {
    db.close();
  }
}
