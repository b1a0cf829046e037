/**
 * SAML conditions and replay: responses correctly signed by the trusted IdP key, but meant for
 * someone else (audience, recipient, destination, issuer), outside their validity window, not
 * answering a request of ours, or used twice — on one instance or on two sharing a store.
 */
import t from 'tap';
import { samlIdp } from '../support/fixtures.js';
import { beginSamlLogin, CookieJar, createIdp, usersIn } from '../support/gatewayHarness.js';
import { buildResponseXml, randomSamlId } from '../support/samlForge.js';
import { ATLASSIAN_ACS_PATH, IDP_ID, samlScenario } from '../support/samlScenario.js';
import { stripSignature } from '../support/samlWrapping.js';

const OTHER_SP = 'https://other-sp.example.com/saml/acs';

t.test('meant for someone else', async (t) => {
  const s = await samlScenario(t);
  const cases = [
    ['wrong audience', { audience: 'https://other-sp.example.com/metadata' }, 'saml-audience-invalid'],
    ['wrong recipient', { recipient: OTHER_SP }, 'saml-recipient-invalid'],
    ['wrong destination', { destination: OTHER_SP }, 'saml-destination-invalid'],
    ['no destination on a signed response', { destination: null }, 'saml-destination-invalid'],
    ['another issuer (same key)', { issuer: 'https://evil.example.com/idp' }, 'saml-issuer-invalid'],
  ] as const;
  for (const [name, overrides, code] of cases) {
    t.test(name, async (t) => {
      const start = await s.start();
      await s.expectRejected(t, () => s.post(s.response(start, overrides), start), code);
    });
  }
});

t.test('validity window', async (t) => {
  const s = await samlScenario(t);
  t.test('expired (beyond the 60 s clock skew) is refused', async (t) => {
    const start = await s.start();
    const xml = s.response(start, { notBeforeOffsetMs: -600_000, notOnOrAfterOffsetMs: -120_000 });
    await s.expectRejected(t, () => s.post(xml, start), /^saml-(assertion-expired|subject-confirmation-invalid)$/);
  });
  t.test('not yet valid (beyond the clock skew) is refused', async (t) => {
    const start = await s.start();
    await s.expectRejected(t, () => s.post(s.response(start, { notBeforeOffsetMs: 120_000, notOnOrAfterOffsetMs: 600_000 }), start), 'saml-assertion-not-yet-valid');
  });
  t.test('issued in the future by an IdP with clock-skew-seconds 0 is refused', async (t) => {
    const strict = await samlScenario(t, { idp: { 'clock-skew-seconds': 0 } });
    const start = await strict.start();
    await strict.expectRejected(t, () => strict.post(strict.response(start, { notBeforeOffsetMs: 20_000 }), start), 'saml-assertion-not-yet-valid');
  });
  t.test('within the clock skew both ways is accepted', async (t) => {
    const late = await s.start();
    t.equal((await s.post(s.response(late, { notBeforeOffsetMs: -600_000, notOnOrAfterOffsetMs: -30_000 }), late)).statusCode, 302, 'expired 30 s ago');
    const early = await s.start();
    t.equal((await s.post(s.response(early, { notBeforeOffsetMs: 30_000 }), early)).statusCode, 302, 'valid in 30 s');
  });
});

t.test('InResponseTo: only answers to our own, outstanding requests', async (t) => {
  t.test('an unknown InResponseTo is refused', async (t) => {
    const s = await samlScenario(t);
    const start = await s.start();
    await s.expectRejected(t, () => s.post(s.response(start, { inResponseTo: randomSamlId() }), start, { relayState: null }), 'saml-in-response-to-unknown');
  });
  t.test('an unsolicited (IdP-initiated) response is refused', async (t) => {
    const s = await samlScenario(t);
    const start = await s.start();
    await s.expectRejected(t, () => s.post(s.response(start, { inResponseTo: null }), start, { relayState: null }), 'saml-in-response-to-missing');
  });
  t.test('an unsolicited response at the Atlassian consumer is refused (no IdP can be trusted)', async (t) => {
    const s = await samlScenario(t);
    const start = await s.start();
    const xml = s.response(start, { inResponseTo: null, recipient: `${s.publicUrl}${ATLASSIAN_ACS_PATH}`, destination: `${s.publicUrl}${ATLASSIAN_ACS_PATH}` });
    const res = await s.expectRejected(t, () => s.post(xml, start, { path: ATLASSIAN_ACS_PATH, relayState: null }));
    t.equal(res.statusCode, 403);
    t.match(res.body, /does not answer a sign-in started here/);
  });
  t.test('the same response posted twice: the second is refused (the request id was consumed)', async (t) => {
    const s = await samlScenario(t);
    const start = await s.start();
    const xml = s.response(start);
    t.equal((await s.post(xml, start)).statusCode, 302);
    await s.expectRejected(t, () => s.post(xml, start), 'saml-in-response-to-unknown');
  });
  t.test('the same response posted concurrently: exactly one is accepted, one user, one login', async (t) => {
    const s = await samlScenario(t);
    const start = await s.start();
    const xml = s.response(start);
    const answers = await Promise.all(Array.from({ length: 8 }, () => s.post(xml, start)));
    t.same(answers.map((r) => r.statusCode).sort(), [302, 403, 403, 403, 403, 403, 403, 403]);
    for (const res of answers.filter((r) => r.statusCode === 403)) t.match(res.body, /Code: <code>saml-in-response-to-unknown<\/code>/, 'the others: the request was already answered');
    t.equal((await usersIn(s.gw.runtime)).length, 1);
    const logins = (await s.gw.runtime.store.readAll()).filter((e) => e.type === 'UserProvisioned' || e.type === 'UserLoggedIn');
    t.equal(logins.filter((e) => e.type === 'UserProvisioned').length, 1, 'provisioned once');
    t.equal(logins.filter((e) => e.type === 'UserLoggedIn').length, 1, 'one login recorded');
  });
  t.test('a request id is consumed even by a failed attempt', async (t) => {
    const s = await samlScenario(t);
    const start = await s.start();
    await s.expectRejected(t, () => s.post(s.response(start, { audience: 'https://elsewhere.example.com' }), start), 'saml-audience-invalid');
    await s.expectRejected(t, () => s.post(s.response(start), start), 'saml-in-response-to-unknown');
  });
  t.test('the signed SubjectConfirmationData must answer the same request', async (t) => {
    const s = await samlScenario(t);
    const start = await s.start();
    await s.expectRejected(t, () => s.post(s.response(start, { subjectInResponseTo: randomSamlId() }), start), 'saml-in-response-to-mismatch');
  });
  t.test('required-signatures assertion: the InResponseTo that counts is the signed one', async (t) => {
    const s = await samlScenario(t, { mode: 'assertion' });
    const start = await s.start();
    await s.expectRejected(t, () => s.post(s.response(start, { subjectInResponseTo: null }), start), 'saml-in-response-to-mismatch');
  });
  t.test('a RelayState of another request is refused', async (t) => {
    const s = await samlScenario(t);
    const start = await s.start();
    const other = await s.start();
    await s.expectRejected(t, () => s.post(s.response(start), start, { relayState: other.relayState }), 'saml-relay-state-mismatch');
  });
  t.test("a request issued for another IdP is refused at this IdP's consumer", async (t) => {
    const s = await samlScenario(t, { idp: { 'sp-entity-id': 'urn:jit:shared-sp' } });
    await createIdp(s.gw.app, samlIdp({ id: 'okta-two', 'sp-entity-id': 'urn:jit:shared-sp' }));
    const other = await beginSamlLogin(s.gw.app, 'okta-two');
    await s.expectRejected(t, () => s.post(s.response(other), other), 'saml-in-response-to-wrong-idp');
  });
});

t.test("Atlassian's consumer path", async (t) => {
  const s = await samlScenario(t, { idp: { 'atlassian-callback-paths': true } });
  t.test('the AuthnRequest names it, and a response posted there is accepted', async (t) => {
    const start = await s.start('/dashboard');
    t.match(start.authnRequestXml, `AssertionConsumerServiceURL="${s.publicUrl}${ATLASSIAN_ACS_PATH}"`);
    const res = await s.post(s.response(start), start);
    t.equal(res.statusCode, 302, res.body.slice(0, 300));
    t.equal(res.headers.location, `${s.publicUrl}/dashboard`);
  });
  t.test('without RelayState the IdP is found from InResponseTo', async (t) => {
    const start = await s.start();
    t.equal((await s.post(s.response(start, { nameId: 'bob' }), start, { relayState: null })).statusCode, 302);
    t.same((await usersIn(s.gw.runtime)).map((u) => u.username).sort(), ['alice', 'bob']);
  });
  t.test('a response whose Recipient is the per-IdP ACS is refused here', async (t) => {
    const start = await s.start();
    const perIdp = `${s.publicUrl}/sso/${IDP_ID}/saml/acs`;
    await s.expectRejected(t, () => s.post(s.response(start, { recipient: perIdp, destination: `${s.publicUrl}${ATLASSIAN_ACS_PATH}` }), start), 'saml-recipient-invalid');
  });
});

t.test('assertion replay', async (t) => {
  t.test('a captured assertion rewrapped into a fresh unsigned response is refused (required-signatures assertion)', async (t) => {
    const s = await samlScenario(t, { mode: 'assertion' });
    const victim = await s.start();
    const captured = s.response(victim);
    t.equal((await s.post(captured, victim)).statusCode, 302, 'the genuine login');
    const attacker = await s.start();
    // Only the Response (unsigned in this mode) is rewritten to answer the attacker's request.
    const rewrapped = captured.replace(`InResponseTo="${victim.requestId}"`, `InResponseTo="${attacker.requestId}"`);
    t.not(rewrapped, captured);
    await s.expectRejected(t, () => s.post(rewrapped, attacker), /^saml-(in-response-to-mismatch|replayed)$/);
  });

  t.test('the same assertion id in a second response is refused (replay cache)', async (t) => {
    const s = await samlScenario(t);
    const assertionId = randomSamlId();
    const first = await s.start();
    t.equal((await s.post(s.response(first, { assertionId }), first)).statusCode, 302);
    const second = await s.start();
    await s.expectRejected(t, () => s.post(s.response(second, { assertionId }), second), 'saml-replayed');
  });

  t.test('replay across two instances sharing one data dir is refused', async (t) => {
    const a = await samlScenario(t);
    const b = await samlScenario(t, { dataDir: a.gw.dataDir, createIdp: false });
    await b.gw.runtime.registry.waitFor(await b.gw.runtime.store.headPosition());
    t.ok(b.gw.runtime.registry.get(IDP_ID), 'instance B knows the IdP');
    const assertionId = randomSamlId();
    const first = await a.start();
    const xml = a.response(first, { assertionId });
    t.equal((await a.post(xml, first)).statusCode, 302, 'accepted on instance A');
    await b.expectRejected(t, () => b.post(xml, first), 'saml-in-response-to-unknown');
    const second = await b.start();
    await b.expectRejected(t, () => b.post(b.response(second, { assertionId }), second), 'saml-replayed');
  });
});

t.test('login binding (https public URL): the response must come back to the browser that started the login', async (t) => {
  const s = await samlScenario(t, { env: { JIT_PUBLIC_URL: 'https://sso.example.com' } });
  const start = await s.start();
  const binding = start.jar.header();
  t.match(binding, /jit_login_[0-9a-f]{16}=/, 'the login start sets a binding cookie');
  const xml = s.response(start);
  const stranger = { ...start, jar: new CookieJar() };
  await s.expectRejected(t, () => s.post(xml, stranger), 'login-not-bound');
  const again = await s.start();
  const res = await s.post(s.response(again), again);
  t.equal(res.statusCode, 302, 'the same flow with the cookie is accepted');
  t.match(String(res.headers['set-cookie']), /jit_session=[^;]+;.*Secure/i, 'a Secure session cookie on https');
});

t.test('an unsigned response stays unsigned: stripping both signatures never helps', async (t) => {
  const s = await samlScenario(t, { mode: 'response' });
  const start = await s.start();
  const bare = stripSignature(s.sign(buildResponseXml(s.fields(start)), 'response'), 'response');
  await s.expectRejected(t, () => s.post(bare, start), 'saml-signature-invalid');
});
