/** JIT_IDPS_FILE: IdP configurations applied as events at start, idempotently; a bad file stops the start. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { ConfigError } from '../../services/shared/errors.js';
import { oidcIdp, samlIdp } from '../support/fixtures.js';
import { admin, startTestApp } from '../support/testRuntime.js';
import { AUTHCONFIG } from './fixtures/api.js';

/** A data dir and an IdPs file that outlive single app starts. */
function workspace(t: Test) {
  const dir = mkdtempSync(join(tmpdir(), 'jit-idps-file-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const dataDir = join(dir, 'data');
  const file = join(dir, 'idps.json');
  const write = (content: unknown) => writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  /** Starts, runs fn against the app, stops. */
  const withApp = async <T>(fn: (app: Awaited<ReturnType<typeof startTestApp>>) => Promise<T>, withFile = true): Promise<T> => {
    const test = await startTestApp({ JIT_DATA_DIR: dataDir, ...(withFile ? { JIT_IDPS_FILE: file } : {}) });
    try {
      return await fn(test);
    } finally {
      await test.close();
    }
  };
  const startFails = async (): Promise<ConfigError> => {
    try {
      await withApp(async () => undefined);
    } catch (error) {
      if (error instanceof ConfigError) return error;
      throw error;
    }
    throw new Error('the start did not fail');
  };
  return { file, write, withApp, startFails };
}

t.test('applied at start; applying it again writes nothing', async (t) => {
  const { write, withApp } = workspace(t);
  write([samlIdp(), oidcIdp()]);
  const first = await withApp(async ({ app, runtime }) => {
    const list = await app.inject({ method: 'GET', url: `${AUTHCONFIG}/idps`, headers: admin });
    t.same(list.json().results.map((r: { id: string }) => r.id), ['entra', 'okta']);
    t.notMatch(list.body, 'super-secret-value');
    t.equal(list.json().results[0]['client-secret-set'], true);
    t.equal(list.json().results[1]['jit-configuration']['group-sync'], 'replace', 'defaults made explicit');
    const events = await runtime.store.readAll();
    t.same(events.map((e) => e.type), ['IdpCreated', 'IdpCreated']);
    t.same(events.map((e) => e.metadata.actor), ['system:idps-file', 'system:idps-file']);
    return runtime.store.headPosition();
  });
  t.equal(first, 2);
  const second = await withApp(async ({ runtime }) => runtime.store.headPosition());
  t.equal(second, first, 'the second start wrote nothing');

  // The secret may be left out of the file once it is stored.
  const { 'client-secret': _secret, ...withoutSecret } = oidcIdp();
  write([samlIdp(), withoutSecret]);
  t.equal(await withApp(async ({ runtime }) => runtime.store.headPosition()), first);
});

t.test('the file wins over changes made through the API', async (t) => {
  const { write, withApp } = workspace(t);
  write([samlIdp()]);
  await withApp(async ({ app }) => {
    const res = await app.inject({ method: 'PATCH', url: `${AUTHCONFIG}/idps/okta`, headers: admin, payload: { name: 'Changed by hand', enabled: false } });
    t.equal(res.statusCode, 200);
  });
  await withApp(async ({ app, runtime }) => {
    const idp = (await app.inject({ method: 'GET', url: `${AUTHCONFIG}/idps/okta`, headers: admin })).json();
    t.equal(idp.name, 'Okta (SAML)');
    t.equal(idp.enabled, true);
    const last = (await runtime.store.readAll()).at(-1)!;
    t.equal(last.type, 'IdpUpdated');
    t.same((last.data as { changed: string[] }).changed, ['enabled', 'name']);
  });
  write([samlIdp({ name: 'Okta renamed in the file' })]);
  await withApp(async ({ app }) => {
    t.equal((await app.inject({ method: 'GET', url: `${AUTHCONFIG}/idps/okta`, headers: admin })).json().name, 'Okta renamed in the file');
  });
});

t.test('a bad file fails the start with a ConfigError naming the problem', async (t) => {
  const { file, write, startFails } = workspace(t);
  const cases: [string, unknown, RegExp][] = [
    ['not JSON', '[{"id": ', new RegExp(`^JIT_IDPS_FILE=${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .*JSON`)],
    ['not an array', { id: 'okta' }, /expected a JSON array of IdP objects/],
    ['an entry without id', [{ ...samlIdp(), id: undefined }], /JIT_IDPS_FILE\[0\] needs an id/],
    ['a duplicate id', [samlIdp(), samlIdp()], /JIT_IDPS_FILE\[1\]: id okta appears twice/],
    ['an unknown field', [{ ...samlIdp(), colour: 'blue' }], /JIT_IDPS_FILE\[0\] has an unknown field 'colour'/],
    ['a wrong type', [samlIdp({ enabled: 'yes' as unknown as boolean })], /JIT_IDPS_FILE\[0\]\.enabled must be boolean/],
    ['a bad certificate', [samlIdp({ certificate: 'MIIBnotacert' })], /^JIT_IDPS_FILE okta: certificate: certificate is not a PEM or base64 DER X\.509 certificate$/],
    ['an invalid mapping', [samlIdp({}, { 'mapping-email': '${mail' })], /^JIT_IDPS_FILE okta: jit-configuration\.mapping-email: Unclosed variable at position 0/],
    ['an insecure issuer', [oidcIdp({ 'issuer-url': 'http://login.example.com' })], /^JIT_IDPS_FILE entra: issuer-url: issuer-url must use https/],
  ];
  for (const [label, content, expected] of cases) {
    write(content);
    const error = await startFails();
    t.match(error.problems.join('\n'), expected, label);
    t.match(error.message, /^invalid configuration:\n {2}- /, `${label}: one line per problem`);
  }
  rmSync(file);
  const missing = await startFails();
  t.match(missing.problems[0], /^JIT_IDPS_FILE=.*ENOENT/, 'a missing file');
});

t.test('a bad entry writes nothing, not even the good ones before it', async (t) => {
  const { write, withApp, startFails } = workspace(t);
  write([samlIdp(), oidcIdp({ 'issuer-url': 'http://insecure.example.com' }), samlIdp({ id: 'second', certificate: 'bad' })]);
  const error = await startFails();
  t.same(error.problems, [
    'JIT_IDPS_FILE entra: issuer-url: issuer-url must use https (set allow-insecure-http for local test IdPs)',
    'JIT_IDPS_FILE second: certificate: certificate is not a PEM or base64 DER X.509 certificate',
  ], 'every bad entry is reported');
  const head = await withApp(async ({ runtime }) => runtime.store.headPosition(), false);
  t.equal(head, 0, 'the store is untouched');
});
