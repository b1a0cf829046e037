/**
 * Tables and the append function of the PostgreSQL event store.
 *
 * Gap-free positions as seen by readers: every append batch locks the single jit_log_head row,
 * takes positions from it and commits before the next batch can take the lock, so a reader can
 * never see position N+1 committed while N is still in flight, and a rolled-back batch returns its
 * positions. jit_append_batch does one batch in one round trip; every check happens before any
 * write of its item, so a refused append in a batch leaves the others untouched.
 */
export const EVENT_STORE_MIGRATIONS = [
  {
    name: 'event-store-1',
    sql: `
      CREATE TABLE jit_events (
        position BIGINT PRIMARY KEY,
        event_id UUID NOT NULL UNIQUE,
        stream_id TEXT NOT NULL,
        revision INTEGER NOT NULL,
        type TEXT NOT NULL,
        data JSONB NOT NULL,
        metadata JSONB NOT NULL,
        recorded_at TIMESTAMPTZ NOT NULL,
        UNIQUE (stream_id, revision)
      );
      CREATE TABLE jit_streams (stream_id TEXT PRIMARY KEY, revision INTEGER NOT NULL);
      CREATE TABLE jit_claims (scope TEXT NOT NULL, key TEXT NOT NULL, owner TEXT NOT NULL, PRIMARY KEY (scope, key));
      CREATE TABLE jit_log_head (singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton), position BIGINT NOT NULL);
      INSERT INTO jit_log_head (singleton, position) VALUES (TRUE, 0);

      CREATE FUNCTION jit_append_batch(batch JSONB) RETURNS JSONB LANGUAGE plpgsql AS $fn$
      DECLARE
        head BIGINT;
        item JSONB;
        results JSONB := '[]'::JSONB;
        current_rev INTEGER;
        expected JSONB;
        claim JSONB;
        holder TEXT;
        dup UUID;
        failed JSONB;
        rev INTEGER;
        first_pos BIGINT;
        n INTEGER;
      BEGIN
        SELECT position INTO head FROM jit_log_head FOR UPDATE;
        FOR item IN SELECT value FROM jsonb_array_elements(batch) LOOP
          failed := NULL;
          current_rev := NULL;
          SELECT s.revision INTO current_rev FROM jit_streams s WHERE s.stream_id = item->>'streamId';
          expected := item->'expectedRevision';
          IF NOT (expected = '"any"'::JSONB
              OR (expected = '"no-stream"'::JSONB AND current_rev IS NULL)
              OR (expected = '"stream-exists"'::JSONB AND current_rev IS NOT NULL)
              OR (jsonb_typeof(expected) = 'number' AND current_rev IS NOT NULL AND current_rev = (expected #>> '{}')::INTEGER)) THEN
            failed := jsonb_build_object('error', 'wrong-revision', 'actual', to_jsonb(current_rev));
          END IF;
          IF failed IS NULL THEN
            dup := NULL;
            SELECT e.event_id INTO dup FROM jit_events e
              WHERE e.event_id IN (SELECT (x->>'eventId')::UUID FROM jsonb_array_elements(item->'events') x) LIMIT 1;
            IF dup IS NOT NULL THEN
              failed := jsonb_build_object('error', 'duplicate-event', 'eventId', dup);
            END IF;
          END IF;
          IF failed IS NULL THEN
            FOR claim IN SELECT value FROM jsonb_array_elements(COALESCE(item->'claims', '[]'::JSONB)) LOOP
              holder := NULL;
              SELECT c.owner INTO holder FROM jit_claims c WHERE c.scope = claim->>'scope' AND c.key = claim->>'key';
              IF holder IS NOT NULL AND holder <> claim->>'owner' AND NOT EXISTS (
                SELECT 1 FROM jsonb_array_elements(COALESCE(item->'releases', '[]'::JSONB)) r
                WHERE r->>'scope' = claim->>'scope' AND r->>'key' = claim->>'key' AND r->>'owner' = holder) THEN
                failed := jsonb_build_object('error', 'claim-conflict', 'scope', claim->>'scope', 'key', claim->>'key', 'heldBy', holder);
                EXIT;
              END IF;
            END LOOP;
          END IF;
          IF failed IS NULL THEN
            DELETE FROM jit_claims c USING jsonb_array_elements(COALESCE(item->'releases', '[]'::JSONB)) r
              WHERE c.scope = r.value->>'scope' AND c.key = r.value->>'key' AND c.owner = r.value->>'owner';
            INSERT INTO jit_claims (scope, key, owner)
              SELECT c->>'scope', c->>'key', c->>'owner' FROM jsonb_array_elements(COALESCE(item->'claims', '[]'::JSONB)) c
              ON CONFLICT (scope, key) DO NOTHING;
            rev := COALESCE(current_rev, -1);
            first_pos := head + 1;
            INSERT INTO jit_events (position, event_id, stream_id, revision, type, data, metadata, recorded_at)
              SELECT head + x.ord, (x.e->>'eventId')::UUID, item->>'streamId', rev + x.ord::INTEGER, x.e->>'type',
                     x.e->'data', x.e->'metadata', (item->>'recordedAt')::TIMESTAMPTZ
              FROM jsonb_array_elements(item->'events') WITH ORDINALITY AS x(e, ord);
            n := jsonb_array_length(item->'events');
            head := head + n;
            rev := rev + n;
            INSERT INTO jit_streams (stream_id, revision) VALUES (item->>'streamId', rev)
              ON CONFLICT (stream_id) DO UPDATE SET revision = EXCLUDED.revision;
            results := results || jsonb_build_array(jsonb_build_object('ok', TRUE, 'revision', rev, 'firstPosition', first_pos, 'lastPosition', head));
          ELSE
            results := results || jsonb_build_array(failed);
          END IF;
        END LOOP;
        UPDATE jit_log_head SET position = head;
        PERFORM pg_notify('jit_events', head::TEXT);
        RETURN results;
      END
      $fn$;
    `,
  },
  {
    // Same contract, fewer statements per item: the batch is serial (it holds the log head), so
    // each statement an item costs is paid by every login in the batch. The claim check is one
    // query instead of one per claim, and empty release/claim lists cost nothing.
    name: 'event-store-2-leaner-append',
    sql: `
      CREATE OR REPLACE FUNCTION jit_append_batch(batch JSONB) RETURNS JSONB LANGUAGE plpgsql AS $fn$
      DECLARE
        head BIGINT;
        item JSONB;
        results JSONB[] := '{}';
        current_rev INTEGER;
        expected JSONB;
        claims JSONB;
        releases JSONB;
        conflict RECORD;
        dup UUID;
        failed JSONB;
        rev INTEGER;
        first_pos BIGINT;
        n INTEGER;
      BEGIN
        SELECT position INTO head FROM jit_log_head FOR UPDATE;
        FOR item IN SELECT value FROM jsonb_array_elements(batch) LOOP
          failed := NULL;
          current_rev := NULL;
          claims := COALESCE(item->'claims', '[]'::JSONB);
          releases := COALESCE(item->'releases', '[]'::JSONB);
          SELECT s.revision INTO current_rev FROM jit_streams s WHERE s.stream_id = item->>'streamId';
          expected := item->'expectedRevision';
          IF NOT (expected = '"any"'::JSONB
              OR (expected = '"no-stream"'::JSONB AND current_rev IS NULL)
              OR (expected = '"stream-exists"'::JSONB AND current_rev IS NOT NULL)
              OR (jsonb_typeof(expected) = 'number' AND current_rev IS NOT NULL AND current_rev = (expected #>> '{}')::INTEGER)) THEN
            failed := jsonb_build_object('error', 'wrong-revision', 'actual', to_jsonb(current_rev));
          END IF;
          IF failed IS NULL THEN
            dup := NULL;
            SELECT e.event_id INTO dup FROM jit_events e
              WHERE e.event_id IN (SELECT (x->>'eventId')::UUID FROM jsonb_array_elements(item->'events') x) LIMIT 1;
            IF dup IS NOT NULL THEN
              failed := jsonb_build_object('error', 'duplicate-event', 'eventId', dup);
            END IF;
          END IF;
          IF failed IS NULL AND jsonb_array_length(claims) > 0 THEN
            -- The first claim (in the item's order) held by another owner that this item does not release.
            SELECT x.value->>'scope' AS scope, x.value->>'key' AS key, c.owner AS holder INTO conflict
              FROM jsonb_array_elements(claims) WITH ORDINALITY AS x(value, ord)
              JOIN jit_claims c ON c.scope = x.value->>'scope' AND c.key = x.value->>'key'
              WHERE c.owner <> x.value->>'owner' AND NOT EXISTS (
                SELECT 1 FROM jsonb_array_elements(releases) r
                WHERE r->>'scope' = c.scope AND r->>'key' = c.key AND r->>'owner' = c.owner)
              ORDER BY x.ord LIMIT 1;
            IF FOUND THEN
              failed := jsonb_build_object('error', 'claim-conflict', 'scope', conflict.scope, 'key', conflict.key, 'heldBy', conflict.holder);
            END IF;
          END IF;
          IF failed IS NULL THEN
            IF jsonb_array_length(releases) > 0 THEN
              DELETE FROM jit_claims c USING jsonb_array_elements(releases) r
                WHERE c.scope = r.value->>'scope' AND c.key = r.value->>'key' AND c.owner = r.value->>'owner';
            END IF;
            IF jsonb_array_length(claims) > 0 THEN
              INSERT INTO jit_claims (scope, key, owner)
                SELECT c->>'scope', c->>'key', c->>'owner' FROM jsonb_array_elements(claims) c
                ON CONFLICT (scope, key) DO NOTHING;
            END IF;
            rev := COALESCE(current_rev, -1);
            first_pos := head + 1;
            INSERT INTO jit_events (position, event_id, stream_id, revision, type, data, metadata, recorded_at)
              SELECT head + x.ord, (x.e->>'eventId')::UUID, item->>'streamId', rev + x.ord::INTEGER, x.e->>'type',
                     x.e->'data', x.e->'metadata', (item->>'recordedAt')::TIMESTAMPTZ
              FROM jsonb_array_elements(item->'events') WITH ORDINALITY AS x(e, ord);
            n := jsonb_array_length(item->'events');
            head := head + n;
            rev := rev + n;
            INSERT INTO jit_streams (stream_id, revision) VALUES (item->>'streamId', rev)
              ON CONFLICT (stream_id) DO UPDATE SET revision = EXCLUDED.revision;
            results := array_append(results, jsonb_build_object('ok', TRUE, 'revision', rev, 'firstPosition', first_pos, 'lastPosition', head));
          ELSE
            results := array_append(results, failed);
          END IF;
        END LOOP;
        UPDATE jit_log_head SET position = head;
        PERFORM pg_notify('jit_events', head::TEXT);
        RETURN to_jsonb(results);
      END
      $fn$;
    `,
  },
  {
    // Every table lookup is an equality on a unique key, one row at a time. The previous version
    // joined the batch's claims (and event ids) against the tables in one query each; a plan that
    // PL/pgSQL cached while jit_claims was small then hash-joined a sequential scan of the whole
    // table per item, and jit_claims grows by a row per login: appends slowed as the log grew.
    name: 'event-store-3-keyed-lookups',
    sql: `
      CREATE OR REPLACE FUNCTION jit_append_batch(batch JSONB) RETURNS JSONB LANGUAGE plpgsql AS $fn$
      DECLARE
        head BIGINT;
        item JSONB;
        results JSONB[] := '{}';
        current_rev INTEGER;
        expected JSONB;
        claims JSONB;
        releases JSONB;
        claim JSONB;
        ev JSONB;
        holder TEXT;
        failed JSONB;
        rev INTEGER;
        first_pos BIGINT;
        n INTEGER;
      BEGIN
        SELECT position INTO head FROM jit_log_head FOR UPDATE;
        FOR item IN SELECT value FROM jsonb_array_elements(batch) LOOP
          failed := NULL;
          current_rev := NULL;
          claims := COALESCE(item->'claims', '[]'::JSONB);
          releases := COALESCE(item->'releases', '[]'::JSONB);
          SELECT s.revision INTO current_rev FROM jit_streams s WHERE s.stream_id = item->>'streamId';
          expected := item->'expectedRevision';
          IF NOT (expected = '"any"'::JSONB
              OR (expected = '"no-stream"'::JSONB AND current_rev IS NULL)
              OR (expected = '"stream-exists"'::JSONB AND current_rev IS NOT NULL)
              OR (jsonb_typeof(expected) = 'number' AND current_rev IS NOT NULL AND current_rev = (expected #>> '{}')::INTEGER)) THEN
            failed := jsonb_build_object('error', 'wrong-revision', 'actual', to_jsonb(current_rev));
          END IF;
          IF failed IS NULL THEN
            FOR ev IN SELECT value FROM jsonb_array_elements(item->'events') LOOP
              IF EXISTS (SELECT 1 FROM jit_events e WHERE e.event_id = (ev->>'eventId')::UUID) THEN
                failed := jsonb_build_object('error', 'duplicate-event', 'eventId', ev->>'eventId');
                EXIT;
              END IF;
            END LOOP;
          END IF;
          IF failed IS NULL THEN
            -- The first claim (in the item's order) held by another owner that this item does not release.
            FOR claim IN SELECT value FROM jsonb_array_elements(claims) LOOP
              holder := NULL;
              SELECT c.owner INTO holder FROM jit_claims c WHERE c.scope = claim->>'scope' AND c.key = claim->>'key';
              IF holder IS NOT NULL AND holder <> claim->>'owner'
                 AND NOT releases @> jsonb_build_array(jsonb_build_object('scope', claim->>'scope', 'key', claim->>'key', 'owner', holder)) THEN
                failed := jsonb_build_object('error', 'claim-conflict', 'scope', claim->>'scope', 'key', claim->>'key', 'heldBy', holder);
                EXIT;
              END IF;
            END LOOP;
          END IF;
          IF failed IS NULL THEN
            FOR claim IN SELECT value FROM jsonb_array_elements(releases) LOOP
              DELETE FROM jit_claims c WHERE c.scope = claim->>'scope' AND c.key = claim->>'key' AND c.owner = claim->>'owner';
            END LOOP;
            FOR claim IN SELECT value FROM jsonb_array_elements(claims) LOOP
              INSERT INTO jit_claims (scope, key, owner) VALUES (claim->>'scope', claim->>'key', claim->>'owner')
                ON CONFLICT (scope, key) DO NOTHING;
            END LOOP;
            rev := COALESCE(current_rev, -1);
            first_pos := head + 1;
            INSERT INTO jit_events (position, event_id, stream_id, revision, type, data, metadata, recorded_at)
              SELECT head + x.ord, (x.e->>'eventId')::UUID, item->>'streamId', rev + x.ord::INTEGER, x.e->>'type',
                     x.e->'data', x.e->'metadata', (item->>'recordedAt')::TIMESTAMPTZ
              FROM jsonb_array_elements(item->'events') WITH ORDINALITY AS x(e, ord);
            n := jsonb_array_length(item->'events');
            head := head + n;
            rev := rev + n;
            INSERT INTO jit_streams (stream_id, revision) VALUES (item->>'streamId', rev)
              ON CONFLICT (stream_id) DO UPDATE SET revision = EXCLUDED.revision;
            results := array_append(results, jsonb_build_object('ok', TRUE, 'revision', rev, 'firstPosition', first_pos, 'lastPosition', head));
          ELSE
            results := array_append(results, failed);
          END IF;
        END LOOP;
        UPDATE jit_log_head SET position = head;
        PERFORM pg_notify('jit_events', head::TEXT);
        RETURN to_jsonb(results);
      END
      $fn$;
    `,
  },
  {
    // The IdP registry of every process follows the idp-* streams only (subscribeToAll with
    // streamPrefix "idp-"): through this index it reads the few IdP events instead of the whole log.
    name: 'event-store-4-idp-positions',
    sql: `CREATE INDEX jit_events_idp_by_position ON jit_events (position) WHERE stream_id LIKE 'idp-%';`,
  },
];
