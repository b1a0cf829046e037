import t from 'tap';
import { admin, gateway, settled, startTestApp } from '../support/testRuntime.js';
import { samlIdp, samlLogin } from '../support/fixtures.js';

t.test('smoke: create idp, login, list', async (t) => {
  const { app, runtime, close } = await startTestApp();
  t.teardown(close);
  const created = await app.inject({ method: 'POST', url: '/rest/authconfig/1.0/idps', headers: admin, payload: samlIdp() });
  t.equal(created.statusCode, 201, created.body);
  const login = await app.inject({ method: 'POST', url: '/rest/jit/1.0/logins', headers: gateway, payload: samlLogin('alice') });
  t.equal(login.statusCode, 200, login.body);
  console.log(login.body);
  await settled(runtime);
  const list = await app.inject({ method: 'GET', url: '/rest/authconfig/1.0/jit-users', headers: admin });
  console.log(list.statusCode, list.headers, list.body);
  const one = await app.inject({ method: 'GET', url: '/rest/authconfig/1.0/jit-users/ALICE', headers: admin });
  console.log(one.statusCode, one.body);
  const docs = await app.inject({ method: 'GET', url: '/docs/json' });
  console.log(docs.statusCode, docs.body.slice(0, 300));
});
