/**
 * What the logs keep and what they never see. The app and the runtime log (level trace, so every
 * line is written) into memory while requests carry every kind of secret: bearer tokens, cookies,
 * an IdP client secret, a SAMLResponse and RelayState (a real signed login and a forged one), an
 * OIDC callback query, a malformed JSON body and a login's personal attributes. None of those
 * values may appear anywhere in the output; request ids and login ids must.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { InjectOptions } from 'fastify';
import pino from 'pino';
import t from 'tap';
import { buildApp } from '../../services/api/app.js';
import { loadConfig } from '../../services/shared/config.js';
import { loggerOptions } from '../../services/shared/logger.js';
import { startRuntime } from '../../services/runtime.js';
import { ADMIN_TOKEN, GATEWAY_TOKEN, oidcIdp, samlIdp, samlLogin } from '../support/fixtures.js';
import { beginSamlLogin, CookieJar, postSamlResponse, TEST_PUBLIC_URL } from '../support/gatewayHarness.js';
import { buildResponseXml, signResponseXml, toBase64 } from '../support/samlForge.js';
import { ACS_PATH, IDP_ISSUER, TEST_IDP } from '../support/samlScenario.js';

type LogLine = Record<string, unknown>;

function memoryLog() {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  return {
    stream,
    text: () => chunks.join(''),
    lines: (): LogLine[] =>
      chunks
        .join('')
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as LogLine),
  };
}

t.test('secrets, protocol payloads and personal data never reach the log; request and login ids do', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'jit-logs-'));
  const log = memoryLog();
  const config = loadConfig({
    JIT_DATA_DIR: dataDir,
    JIT_ADMIN_TOKENS: ADMIN_TOKEN,
    JIT_GATEWAY_TOKENS: GATEWAY_TOKEN,
    JIT_LOG_LEVEL: 'trace',
    JIT_PUBLIC_URL: TEST_PUBLIC_URL,
  });
  const runtime = await startRuntime(config, pino(loggerOptions('trace'), log.stream));
  const app = await buildApp(runtime, { logStream: log.stream });
  await app.ready();
  t.teardown(async () => {
    await app.close();
    await runtime.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
  const secrets: Record<string, string> = { 'admin token': ADMIN_TOKEN, 'gateway token': GATEWAY_TOKEN };
  const requestIds: string[] = [];
  const send = async (options: InjectOptions) => {
    const res = await app.inject(options);
    requestIds.push(String(res.headers['x-request-id']));
    return res;
  };

  // An admin request with a bearer token and a cookie; IdPs whose bodies hold a client secret.
  secrets['a cookie'] = 'cookie-secret-5b1d9e';
  t.equal((await send({ method: 'GET', url: '/rest/authconfig/1.0/idps', headers: { ...admin, cookie: `other=${secrets['a cookie']}` } })).statusCode, 200);
  t.equal((await send({ method: 'POST', url: '/rest/authconfig/1.0/idps', headers: admin, payload: samlIdp({ 'required-signatures': 'both' }) as object })).statusCode, 201);
  const oidc = oidcIdp({ 'client-secret': 'client-secret-value-77ab2c' });
  secrets['the OIDC client secret'] = 'client-secret-value-77ab2c';
  t.equal((await send({ method: 'POST', url: '/rest/authconfig/1.0/idps', headers: admin, payload: oidc as object })).statusCode, 201);

  // A login from an external gateway, with personal attributes; and a malformed one.
  const login = samlLogin('log-subject', { email: ['pii.mail.7f3a@example.com'], displayName: ['Pii Display 7f3a'], groups: ['pii-group-7f3a'] });
  Object.assign(secrets, { 'an email attribute': 'pii.mail.7f3a', 'a display name attribute': 'Pii Display 7f3a', 'a group attribute': 'pii-group-7f3a' });
  const loginRes = await send({ method: 'POST', url: '/rest/jit/1.0/logins', headers: { authorization: `Bearer ${GATEWAY_TOKEN}` }, payload: login as object });
  t.equal(loginRes.statusCode, 200, 'the login is provisioned');
  secrets['a malformed JSON body'] = 'bad-json-secret-9c1e';
  const badJson = await send({
    method: 'POST',
    url: '/rest/jit/1.0/logins',
    headers: { authorization: `Bearer ${GATEWAY_TOKEN}`, 'content-type': 'application/json' },
    payload: secrets['a malformed JSON body'],
  });
  t.equal(badJson.statusCode, 400);
  t.notOk(badJson.body.includes(secrets['a malformed JSON body']!), 'the error message does not echo the body either');

  // A real browser SAML login: signed response with personal attributes, RelayState, session cookie.
  const start = await beginSamlLogin(app, 'okta');
  const acsUrl = `${TEST_PUBLIC_URL}${ACS_PATH}`;
  const xml = signResponseXml(
    buildResponseXml({
      issuer: IDP_ISSUER,
      audience: `${TEST_PUBLIC_URL}/sso/okta/saml/metadata`,
      recipient: acsUrl,
      destination: acsUrl,
      inResponseTo: start.requestId,
      nameId: 'saml-subject',
      attributes: { displayName: ['Saml Pii 41c0'], email: ['saml.pii.41c0@example.com'], groups: ['saml-group-41c0'] },
    }),
    'both',
    TEST_IDP,
  );
  const samlResponse = toBase64(xml);
  Object.assign(secrets, {
    'the SAMLResponse': samlResponse,
    'the start of the SAMLResponse': samlResponse.slice(0, 40),
    'the RelayState': start.relayState,
    'a SAML display name': 'Saml Pii 41c0',
    'a SAML email': 'saml.pii.41c0',
    'a SAML group': 'saml-group-41c0',
  });
  const acs = await postSamlResponse(app, ACS_PATH, { SAMLResponse: samlResponse, RelayState: start.relayState }, start.jar);
  requestIds.push(String(acs.headers['x-request-id']));
  t.equal(acs.statusCode, 302, 'the SAML login succeeds');
  const sessionCookie = /jit_session=([^;]+)/.exec(String(acs.headers['set-cookie']))?.[1];
  t.ok(sessionCookie, 'a session cookie was set');
  secrets['the session cookie'] = sessionCookie!;
  const session = await send({ method: 'GET', url: '/sso/session', headers: start.jar.headers() });
  t.equal(session.statusCode, 200, 'the session cookie is accepted');

  // A forged SAMLResponse (fails verification, logged as such) and an OIDC callback query.
  secrets['a forged SAMLResponse'] = Buffer.from('<forged-saml-secret-31aa/>').toString('base64');
  secrets['the forged SAML text'] = 'forged-saml-secret-31aa';
  const forged = await postSamlResponse(app, ACS_PATH, { SAMLResponse: secrets['a forged SAMLResponse']!, RelayState: 'relay-state-secret-0d0d' }, new CookieJar());
  secrets['a forged RelayState'] = 'relay-state-secret-0d0d';
  requestIds.push(String(forged.headers['x-request-id']));
  t.equal(forged.statusCode, 403);
  Object.assign(secrets, { 'an OIDC code': 'oidc-code-secret-123', 'an OIDC state': 'oidc-state-secret-456', 'an id_token in a query': 'eyJ-id-token-secret-789' });
  const callback = await send({ method: 'GET', url: `/sso/entra/oidc/callback?code=oidc-code-secret-123&state=oidc-state-secret-456&id_token=eyJ-id-token-secret-789&iss=${encodeURIComponent('https://login.example.com/tenant/v2.0')}` });
  t.equal(callback.statusCode, 403);

  const text = log.text();
  t.ok(text.length > 0, 'something was logged');
  for (const [what, value] of Object.entries(secrets)) t.notOk(text.includes(value), `${what} is not in the log`);

  const lines = log.lines();
  const loggedIds = new Set(lines.map((line) => line['reqId']));
  t.same(
    requestIds.filter((id) => !loggedIds.has(id)),
    [],
    'every request id appears in the log',
  );
  const callbackLine = lines.find((line) => line['msg'] === 'incoming request' && String((line['req'] as { url?: string } | undefined)?.url).startsWith('/sso/entra/oidc/callback'));
  t.match((callbackLine?.['req'] as { url?: string } | undefined)?.url, /code=\[redacted\]&state=\[redacted\]&id_token=\[redacted\]&iss=https/, 'the callback URL is logged, masked');
  const loginLine = lines.find((line) => line['loginId'] === login.loginId && line['msg'] === 'login provisioned');
  t.ok(loginLine, 'the login has a log line');
  t.match(loginLine, { loginId: login.loginId, correlationId: loginRes.headers['x-request-id'], idpId: 'okta', outcome: 'provisioned' }, 'with its login, correlation and IdP ids');
  const ssoLine = lines.find((line) => line['msg'] === 'login provisioned' && line['correlationId'] === acs.headers['x-request-id']);
  t.ok(ssoLine, 'the SSO login has a log line correlated with its request');
});
