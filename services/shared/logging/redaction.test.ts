import { Writable } from 'node:stream';
import pino from 'pino';
import t from 'tap';
import { loggerOptions } from '../logger.js';
import { maskUrl, scrubSecrets, serializeRequest } from './redaction.js';

t.test('maskUrl masks protocol payloads in the query string and keeps the rest', async (t) => {
  t.equal(maskUrl('/sso/x/oidc/callback?code=abc&state=def&iss=https%3A%2F%2Fidp'), '/sso/x/oidc/callback?code=[redacted]&state=[redacted]&iss=https%3A%2F%2Fidp');
  t.equal(maskUrl('/sso/x/saml/acs?SAMLResponse=PHNhbWw%2B&RelayState=r1&Signature=s&SigAlg=rsa'), '/sso/x/saml/acs?SAMLResponse=[redacted]&RelayState=[redacted]&Signature=[redacted]&SigAlg=rsa');
  t.equal(maskUrl('/cb?%63ode=abc'), '/cb?%63ode=[redacted]', 'a percent-encoded name is recognized');
  t.equal(maskUrl('/cb?CODE=abc&Id_Token=x'), '/cb?CODE=[redacted]&Id_Token=[redacted]', 'names compare case-insensitively');
  t.equal(maskUrl('/cb?code'), '/cb?code=[redacted]');
  t.equal(maskUrl('/cb?%E0%A4%A=1&code=2'), '/cb?%E0%A4%A=1&code=[redacted]', 'a malformed escape does not stop the masking');
  t.equal(maskUrl('/rest/authconfig/1.0/jit-users?limit=10&q=al'), '/rest/authconfig/1.0/jit-users?limit=10&q=al');
  t.equal(maskUrl('/healthz'), '/healthz');
});

t.test('scrubSecrets masks secret keys at any depth without touching the input', async (t) => {
  const input = {
    code: 'invalid-request',
    detail: 'x',
    body: { SAMLResponse: 'PHNhbWw+', RelayState: 'r', nested: [{ id_token: 'eyJ', claims: { email: 'a@b' } }] },
    login: { loginId: 'l1', attributes: { email: ['a@b'] } },
    query: { code: 'oauth-code', state: 'st' },
    problems: [{ code: 'state-unknown', message: 'The state is unknown' }],
    headers: { Authorization: 'Bearer t', Cookie: 'jit_session=s' },
  };
  const copy = structuredClone(input);
  const out = scrubSecrets(input);
  t.same(input, copy, 'the logged object is not changed');
  t.same(out, {
    code: 'invalid-request',
    detail: 'x',
    body: { SAMLResponse: '[redacted]', RelayState: '[redacted]', nested: [{ id_token: '[redacted]', claims: '[redacted]' }] },
    login: { loginId: 'l1', attributes: '[redacted]' },
    query: { code: '[redacted]', state: '[redacted]' },
    problems: [{ code: 'state-unknown', message: 'The state is unknown' }],
    headers: { Authorization: '[redacted]', Cookie: '[redacted]' },
  });
  const clean = { a: 1, b: { c: [1, 2] } };
  t.equal(scrubSecrets(clean), clean, 'nothing to mask: the same object, no copy');
});

t.test('serializeRequest logs the masked URL and no header', async (t) => {
  const out = serializeRequest({
    method: 'GET',
    url: '/cb?code=c1&state=s1',
    headers: { authorization: 'Bearer x', cookie: 'a=b' },
    socket: { remotePort: 1234 } as never,
    host: 'h',
    ip: '127.0.0.1',
  });
  t.same(out, { method: 'GET', url: '/cb?code=[redacted]&state=[redacted]', version: undefined, host: 'h', remoteAddress: '127.0.0.1', remotePort: 1234 });
});

t.test('the shared logger options redact through pino', async (t) => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  const logger = pino(loggerOptions('info'), sink);
  logger.info({ req: { headers: { authorization: 'Bearer top-secret-token' } }, idp: { 'client-secret': 'shh-secret' }, login: { claims: { sub: 'alice-sub' } } }, 'line');
  logger.child({ loginId: 'login-1' }).info({ code: 'login-rejected' }, 'rejected');
  const text = lines.join('');
  for (const secret of ['top-secret-token', 'shh-secret', 'alice-sub']) t.notOk(text.includes(secret), `${secret} is not logged`);
  t.match(text, /"loginId":"login-1"/);
  t.match(text, /"code":"login-rejected"/, 'a top-level error code stays readable');
});
