/**
 * SQL for listing JIT users, shared by the SQLite and PostgreSQL read models. Placeholders are
 * written as ? and numbered for PostgreSQL. Paging is keyset on (username_key, user_id) when a
 * cursor is given, OFFSET otherwise (Atlassian's start parameter), or a seek (keyset from a known
 * sort key plus a short OFFSET) when the caller can resolve `start` to one.
 */
import { groupKey } from '../provisioning/user/normalize.js';
import type { PageCursor, UserListFilter, UserListQuery } from './readModel.js';

export type Dialect = 'sqlite' | 'postgres';
export type SqlFragment = { sql: string; params: unknown[] };

/**
 * The one form search text and queries are compared in: NFKC (composed accents, full-width forms,
 * ligatures) then lower case, so "José" typed decomposed or "ＪＯＳＥ" full-width still match.
 */
export function searchKey(text: string): string {
  return text.normalize('NFKC').toLowerCase();
}

export function searchText(username: string, displayName: string, email: string): string {
  return searchKey(`${username}\n${displayName}\n${email}`);
}

export function whereClause(filter: UserListFilter, dialect: Dialect, tables: { users: string; groups: string }): SqlFragment {
  const clauses: string[] = [];
  const params: unknown[] = [];
  if (filter.q !== undefined && filter.q !== '') {
    clauses.push(dialect === 'sqlite' ? 'instr(u.search_text, ?) > 0' : 'strpos(u.search_text, ?) > 0');
    params.push(searchKey(filter.q));
  }
  if (filter.idp !== undefined) {
    clauses.push('u.idp_id = ?');
    params.push(filter.idp);
  }
  if (filter.active !== undefined) {
    clauses.push('u.active = ?');
    params.push(dialect === 'sqlite' ? (filter.active ? 1 : 0) : filter.active);
  }
  if (filter.group !== undefined) {
    clauses.push(`EXISTS (SELECT 1 FROM ${tables.groups} g WHERE g.user_id = u.user_id AND g.group_key = ?)`);
    params.push(groupKey(filter.group));
  }
  if (filter.provisionedAfter !== undefined) {
    clauses.push('u.provisioned_at > ?');
    params.push(normalizeInstant(filter.provisionedAfter));
  }
  if (filter.provisionedBefore !== undefined) {
    clauses.push('u.provisioned_at < ?');
    params.push(normalizeInstant(filter.provisionedBefore));
  }
  if (filter.lastLoginBefore !== undefined) {
    // Users who never logged in count as "not since".
    clauses.push('(u.last_login_at IS NULL OR u.last_login_at < ?)');
    params.push(normalizeInstant(filter.lastLoginBefore));
  }
  return { sql: clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : '', params };
}

/** Stored instants are ISO-8601 UTC with milliseconds, so they compare as text. */
export function normalizeInstant(value: string): string {
  return new Date(value).toISOString();
}

/**
 * `seek` (PostgreSQL's answer to a deep `start`): continue after this sort key and skip `skip`
 * rows from there, instead of an OFFSET over every row before it.
 */
export type Seek = Readonly<{ cursor: PageCursor; skip: number }>;

export function listSql(query: UserListQuery, dialect: Dialect, tables: { users: string; groups: string }, seek?: Seek): { page: SqlFragment; count: SqlFragment } {
  if (seek && !query.cursor) {
    const { page, count } = listSql({ ...query, cursor: seek.cursor }, dialect, tables);
    return { page: seek.skip > 0 ? { sql: `${page.sql} OFFSET ${dialect === 'postgres' ? `$${page.params.length + 1}` : '?'}`, params: [...page.params, seek.skip] } : page, count };
  }
  const where = whereClause(query, dialect, tables);
  const columns = 'u.user_id, u.username, u.username_key, u.display_name, u.email, u.active, u.idp_id, u.provisioned_at, u.last_login_at';
  const pageParams = [...where.params];
  const collate = dialect === 'postgres' ? ' COLLATE "C"' : '';
  let keyset = '';
  if (query.cursor) {
    // PostgreSQL walks the (username_key COLLATE "C", user_id) index from the cursor only for a row
    // comparison; the equivalent OR form filters the index from its start.
    if (dialect === 'postgres') {
      keyset = `${where.sql ? 'AND' : 'WHERE'} (u.username_key COLLATE "C", u.user_id) > (?::text COLLATE "C", ?::uuid)`;
      pageParams.push(query.cursor.usernameKey, query.cursor.userId);
    } else {
      keyset = `${where.sql ? 'AND' : 'WHERE'} (u.username_key > ? OR (u.username_key = ? AND u.user_id > ?))`;
      pageParams.push(query.cursor.usernameKey, query.cursor.usernameKey, query.cursor.userId);
    }
  }
  const offset = query.cursor ? '' : ' OFFSET ?';
  pageParams.push(query.limit);
  if (!query.cursor) pageParams.push(query.start);
  return {
    page: numbered(
      { sql: `SELECT ${columns} FROM ${tables.users} u ${where.sql} ${keyset} ORDER BY u.username_key${collate}, u.user_id LIMIT ?${offset}`, params: pageParams },
      dialect,
    ),
    count: numbered({ sql: `SELECT COUNT(*) AS total FROM ${tables.users} u ${where.sql}`, params: where.params }, dialect),
  };
}

export function numbered(fragment: SqlFragment, dialect: Dialect): SqlFragment {
  if (dialect === 'sqlite') return fragment;
  let n = 0;
  return { sql: fragment.sql.replace(/\?/g, () => `$${++n}`), params: fragment.params };
}
