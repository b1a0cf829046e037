-- JIT provisioned users, read from the read model (embedded SQLite, JIT_DATA_DIR/jit.db): the rows
-- of GET /rest/authconfig/1.0/jit-users?expand=groups, in the same order.
--   sqlite3 -readonly -header -column data/jit.db < docs/jit-users.sqlite.sql
-- Narrow it down by adding a WHERE clause before ORDER BY, for example
--   WHERE u.idp_id = 'okta' AND u.active = 1 AND u.last_login_at < '2026-01-01T00:00:00.000Z'
-- (instants are stored as ISO-8601 UTC text with milliseconds, so they compare as text;
-- active is 1 for active users, 0 for deactivated ones).
SELECT u.username,
       u.display_name,
       u.email,
       u.user_id,
       u.active,
       u.idp_id,
       u.provisioned_at,
       u.last_login_at,
       (SELECT group_concat(g.group_name, ', ')
          FROM jit_user_groups g
         WHERE g.user_id = u.user_id) AS groups,
       (SELECT group_concat(i.idp_id || ':' || i.subject, ', ')
          FROM jit_user_identities i
         WHERE i.user_id = u.user_id) AS identities
  FROM jit_users u
 ORDER BY u.username_key, u.user_id;
