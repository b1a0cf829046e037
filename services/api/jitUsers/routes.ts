/**
 * GET /jit-users (Atlassian's list, paged and filtered, JSON or CSV, optionally as of an instant),
 * GET /jit-users/{username} and GET /jit-users/{username}/history.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { userStreamId } from '../../../events/catalogue.js';
import type { JitUser, JitUserDetail, JitUsersQuery, UsernameParams } from '../../../schemas/types.gen.js';
import { ServiceError } from '../../shared/errors.js';
import { withReadModelAsOf } from '../../projections/asOf.js';
import { decodeCursor, encodeCursor } from '../../projections/cursor.js';
import type { ReadModel, UserListItem, UserListQuery } from '../../projections/readModel.js';
import type { ProvisionedUser } from '../../provisioning/user/userState.js';
import { groupNames } from '../../provisioning/user/userState.js';
import type { Runtime } from '../../runtime.js';
import { ref } from '../plugins/schemas.js';
import { csvLines } from './csv.js';
import { createListCache, type ListCache } from './listCache.js';
import { preferredType } from '../http.js';

const TAG = ['JIT users'];

function toListQuery(query: JitUsersQuery): UserListQuery {
  const start = query.start ?? 0;
  return {
    start,
    limit: query.limit ?? 1000,
    ...(query.cursor ? { cursor: decodeCursor(query.cursor) } : {}),
    withGroups: query.expand === 'groups',
    ...(query.q !== undefined ? { q: query.q } : {}),
    ...(query.idp !== undefined ? { idp: query.idp } : {}),
    ...(query.active !== undefined ? { active: query.active } : {}),
    ...(query.group !== undefined ? { group: query.group } : {}),
    ...(query['provisioned-after'] !== undefined ? { provisionedAfter: query['provisioned-after'] } : {}),
    ...(query['provisioned-before'] !== undefined ? { provisionedBefore: query['provisioned-before'] } : {}),
    ...(query['last-login-before'] !== undefined ? { lastLoginBefore: query['last-login-before'] } : {}),
  };
}

function toJitUser(user: UserListItem): JitUser {
  return {
    username: user.username,
    'display-name': user.displayName,
    email: user.email,
    'user-id': user.userId,
    active: user.active,
    'idp-id': user.idpId,
    'provisioned-at': user.provisionedAt,
    ...(user.lastLoginAt ? { 'last-login-at': user.lastLoginAt } : {}),
    ...(user.groups ? { groups: [...user.groups] } : {}),
  };
}

export function toJitUserDetail(user: ProvisionedUser): JitUserDetail {
  return {
    username: user.username,
    'display-name': user.displayName,
    email: user.email,
    'user-id': user.userId,
    active: user.active,
    'idp-id': user.idpId,
    'provisioned-at': user.provisionedAt,
    ...(user.lastLoginAt ? { 'last-login-at': new Date(user.lastLoginAt).toISOString() } : {}),
    ...(user.deactivatedAt ? { 'deactivated-at': user.deactivatedAt } : {}),
    groups: groupNames(user).map((name) => {
      const membership = Object.values(user.groups).find((m) => m.name === name)!;
      return {
        name,
        'granted-by': membership.grants.map((g) => ({
          type: g.source.type,
          ...(g.source['idp-id'] ? { 'idp-id': g.source['idp-id'] } : {}),
          'granted-at': g.grantedAt,
        })),
      };
    }),
    identities: user.identities.map((i) => ({ 'idp-id': i.idpId, subject: i.subject, 'linked-at': i.linkedAt })),
  };
}

/** Link rel="next": the same query, one page on, with a keyset cursor so deep pages stay fast. */
function nextLink(request: FastifyRequest, query: UserListQuery, page: readonly UserListItem[], total: number): string | undefined {
  const start = query.start + page.length;
  const last = page.at(-1);
  if (!last || page.length < query.limit || start >= total) return undefined;
  const url = new URL(request.url, 'http://placeholder');
  url.searchParams.set('start', String(start));
  url.searchParams.set('cursor', encodeCursor({ usernameKey: last.usernameKey, userId: last.userId }));
  return `<${url.pathname}${url.search}>; rel="next"`;
}

const CSV_HEADER = ['username', 'display-name', 'email', 'user-id', 'active', 'idp-id', 'provisioned-at', 'last-login-at'];

async function listJitUsers(runtime: Runtime, cache: ListCache, request: FastifyRequest<{ Querystring: JitUsersQuery }>, reply: FastifyReply) {
  const type = preferredType(request.headers.accept, ['application/json', 'text/csv']);
  if (!type) throw new ServiceError('not-acceptable', 'Ask for application/json or text/csv');
  const asOf = request.query['as-of'];
  // Read before the query: a change committed in between gets a new version, never this answer.
  const version = asOf ? undefined : await runtime.readModel.version();
  const key = `${type} ${request.url}`;
  const hit = version === undefined ? undefined : cache.get(key, version);
  if (hit) return reply.headers(hit.headers).send(hit.body);

  const query = toListQuery(request.query);
  const run = (model: ReadModel) => model.listUsers(query);
  const { users, total } = asOf ? await withReadModelAsOf(runtime.store, new Date(asOf), run) : await run(runtime.readModel);
  const headers: Record<string, string> = { 'x-total-count': String(total), vary: 'accept' };
  const link = nextLink(request, query, users, total);
  if (link) headers['link'] = link;
  let body: string;
  if (type === 'text/csv') {
    const header = query.withGroups ? [...CSV_HEADER, 'groups'] : CSV_HEADER;
    const rows = users.map((u) => {
      const row = [u.username, u.displayName, u.email, u.userId, u.active, u.idpId, u.provisionedAt, u.lastLoginAt];
      return query.withGroups ? [...row, (u.groups ?? []).join(';')] : row;
    });
    headers['content-type'] = 'text/csv; charset=utf-8';
    headers['content-disposition'] = 'attachment; filename="jit-users.csv"';
    body = csvLines(header, rows);
  } else {
    // The route's response schema serializes, as it would for a returned array.
    headers['content-type'] = 'application/json; charset=utf-8';
    const serialize = reply.getSerializationFunction('200', 'application/json');
    const payload = users.map(toJitUser);
    body = serialize ? serialize(payload as unknown as Record<string, unknown>) : JSON.stringify(payload);
  }
  // Bytes, not a string: a cached page is encoded once, and a Buffer is written as it is.
  const bytes = Buffer.from(body, 'utf8');
  if (version !== undefined) cache.set(key, version, { body: bytes, headers });
  return reply.headers(headers).send(bytes);
}

export async function findUserOr404(runtime: Runtime, username: string): Promise<ProvisionedUser> {
  const user = await runtime.readModel.findUser(username);
  if (!user) throw new ServiceError('user-not-found', `No JIT user named ${username}`);
  return user;
}

export function jitUserRoutes(runtime: Runtime) {
  const cache = createListCache();
  return async function routes(app: FastifyInstance): Promise<void> {
    app.get<{ Querystring: JitUsersQuery }>(
      '/jit-users',
      {
        config: { right: 'admin' },
        schema: {
          tags: TAG,
          summary: 'List JIT-provisioned users (Atlassian-compatible array, paged, filterable, CSV with Accept: text/csv)',
          querystring: ref('http/users.schema.json#/$defs/JitUsersQuery'),
          response: {
            200: {
              description: 'Users sorted by username; Link rel="next" and X-Total-Count give paging',
              content: {
                'application/json': { schema: ref('http/users.schema.json#/$defs/JitUserList') },
                'text/csv': { schema: { type: 'string' } },
              },
            },
          },
        },
      },
      (request, reply) => listJitUsers(runtime, cache, request, reply),
    );
    app.get<{ Params: UsernameParams }>(
      '/jit-users/:username',
      {
        config: { right: 'admin' },
        schema: {
          tags: TAG,
          summary: 'One JIT user with group provenance and linked identities',
          params: ref('http/users.schema.json#/$defs/UsernameParams'),
          response: { 200: ref('http/users.schema.json#/$defs/JitUserDetail') },
        },
      },
      async (request) => toJitUserDetail(await findUserOr404(runtime, request.params.username)),
    );
    app.get<{ Params: UsernameParams }>(
      '/jit-users/:username/history',
      {
        config: { right: 'admin' },
        schema: {
          tags: TAG,
          summary: "The user's events in order (provisioning, updates, logins, rejections, deactivations)",
          params: ref('http/users.schema.json#/$defs/UsernameParams'),
          response: { 200: ref('http/users.schema.json#/$defs/History') },
        },
      },
      async (request) => {
        const user = await findUserOr404(runtime, request.params.username);
        return runtime.store.readStream(userStreamId(user.userId));
      },
    );
  };
}
