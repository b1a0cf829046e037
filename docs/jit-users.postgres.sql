-- JIT provisioned users, read from the read model (PostgreSQL): the rows of
-- GET /rest/authconfig/1.0/jit-users?expand=groups, in the same order.
--   psql "$JIT_DATABASE_URL" -f docs/jit-users.postgres.sql
-- Narrow it down by adding a WHERE clause before ORDER BY, for example
--   WHERE u.idp_id = 'okta' AND u.active AND u.last_login_at < '2026-01-01T00:00:00.000Z'
-- (instants are stored as ISO-8601 UTC text with milliseconds, so they compare as text).
SELECT u.username,
       u.display_name,
       u.email,
       u.user_id,
       u.active,
       u.idp_id,
       u.provisioned_at,
       u.last_login_at,
       (SELECT string_agg(g.group_name, ', ' ORDER BY g.group_key COLLATE "C")
          FROM jit_user_groups g
         WHERE g.user_id = u.user_id) AS groups,
       (SELECT string_agg(i.idp_id || ':' || i.subject, ', ' ORDER BY i.linked_at, i.idp_id, i.subject)
          FROM jit_user_identities i
         WHERE i.user_id = u.user_id) AS identities
  FROM jit_users u
 ORDER BY u.username_key COLLATE "C", u.user_id;
