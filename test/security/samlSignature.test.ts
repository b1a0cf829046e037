/**
 * SAML signature attacks: a correctly signed response is accepted first (proving the harness),
 * then every XML Signature Wrapping variant, signature stripping, tampering after signing and a
 * signature by a foreign key are refused, under each `required-signatures` setting.
 */
import t from 'tap';
import { FOREIGN_CERT, FOREIGN_KEY } from '../support/fixtures.js';
import { usersIn } from '../support/gatewayHarness.js';
import { buildResponseXml, SAML, setText } from '../support/samlForge.js';
import { samlScenario, type Mode } from '../support/samlScenario.js';
import { stripSignature, wrapSignature, XSW_TARGET, XSW_VARIANTS } from '../support/samlWrapping.js';

const MODES: readonly Mode[] = ['both', 'response', 'assertion'];

for (const mode of MODES) {
  t.test(`required-signatures ${mode}`, async (t) => {
    t.test('a correctly signed response is accepted (the harness builds what an IdP sends)', async (t) => {
      const s = await samlScenario(t, { mode });
      const start = await s.start('/home');
      const res = await s.post(s.response(start), start);
      t.equal(res.statusCode, 302, res.body.slice(0, 400));
      t.equal(res.headers.location, 'http://127.0.0.1:18080/home');
      const [user] = await usersIn(s.gw.runtime);
      t.match(user, { username: 'alice', displayName: 'Alice Liddell', email: 'alice@example.com', idpId: 'okta' });
      t.same([...(user?.groups ?? [])].sort(), ['developers', 'jira-users']);
    });

    for (const variant of XSW_VARIANTS) {
      const target = XSW_TARGET[variant];
      // A variant needs the signature it abuses; with `both` the IdP signs everything.
      const signs = mode === 'both' ? 'both' : mode;
      if (signs !== 'both' && signs !== target) continue;
      t.test(`${variant} (wrapping the ${target} signature) is refused`, async (t) => {
        const s = await samlScenario(t, { mode });
        const start = await s.start();
        const wrapped = wrapSignature(s.sign(buildResponseXml(s.fields(start)), signs), variant, 'mallory-admin');
        t.match(wrapped, /mallory-admin/, 'the forged identity is in the document');
        await s.expectRejected(t, () => s.post(wrapped, start), 'saml-signature-invalid');
      });
    }

    t.test('no signature at all is refused', async (t) => {
      const s = await samlScenario(t, { mode });
      const start = await s.start();
      await s.expectRejected(t, () => s.post(s.sign(buildResponseXml(s.fields(start)), 'none'), start), 'saml-signature-invalid');
    });

    t.test('a response signed by a foreign key (its certificate in KeyInfo) is refused', async (t) => {
      const s = await samlScenario(t, { mode });
      const start = await s.start();
      const forged = s.sign(buildResponseXml(s.fields(start, { nameId: 'mallory-admin' })), 'both', { key: FOREIGN_KEY, cert: FOREIGN_CERT });
      t.ok(forged.includes(FOREIGN_CERT.split('\n')[1] ?? '-'), 'the foreign certificate travels in KeyInfo');
      await s.expectRejected(t, () => s.post(forged, start), 'saml-signature-invalid');
    });

    t.test('changing the signed NameID after signing breaks the signature', async (t) => {
      const s = await samlScenario(t, { mode });
      const start = await s.start();
      const tampered = setText(s.sign(buildResponseXml(s.fields(start))), SAML, 'NameID', 'mallory-admin');
      await s.expectRejected(t, () => s.post(tampered, start), 'saml-signature-invalid');
    });

    t.test('adding an attribute value after signing breaks the signature', async (t) => {
      const s = await samlScenario(t, { mode });
      const start = await s.start();
      const signed = s.sign(buildResponseXml(s.fields(start)));
      const tampered = signed.replace('>developers</saml:AttributeValue>', '>developers</saml:AttributeValue><saml:AttributeValue>admins</saml:AttributeValue>');
      t.not(tampered, signed);
      await s.expectRejected(t, () => s.post(tampered, start), 'saml-signature-invalid');
    });
  });
}

t.test('signature stripping when both signatures are required', async (t) => {
  t.test('an unsigned assertion inside a signed response is refused', async (t) => {
    const s = await samlScenario(t, { mode: 'both' });
    const start = await s.start();
    // Signed by the IdP as a response-only signer would: the assertion itself carries no signature.
    await s.expectRejected(t, () => s.post(s.sign(buildResponseXml(s.fields(start)), 'response'), start), 'saml-signature-invalid');
  });

  t.test('a signed assertion inside an unsigned response is refused', async (t) => {
    const s = await samlScenario(t, { mode: 'both' });
    const start = await s.start();
    await s.expectRejected(t, () => s.post(s.sign(buildResponseXml(s.fields(start)), 'assertion'), start), 'saml-signature-invalid');
  });

  t.test('removing the assertion signature from a fully signed response is refused', async (t) => {
    const s = await samlScenario(t, { mode: 'both' });
    const start = await s.start();
    await s.expectRejected(t, () => s.post(stripSignature(s.sign(buildResponseXml(s.fields(start))), 'assertion'), start), 'saml-signature-invalid');
  });

  t.test('removing the response signature from a fully signed response is refused', async (t) => {
    const s = await samlScenario(t, { mode: 'both' });
    const start = await s.start();
    await s.expectRejected(t, () => s.post(stripSignature(s.sign(buildResponseXml(s.fields(start))), 'response'), start), 'saml-signature-invalid');
  });

  t.test('required-signatures assertion: an unsigned assertion in an unsigned response is refused', async (t) => {
    const s = await samlScenario(t, { mode: 'assertion' });
    const start = await s.start();
    await s.expectRejected(t, () => s.post(stripSignature(s.sign(buildResponseXml(s.fields(start)), 'assertion'), 'assertion'), start), 'saml-signature-invalid');
  });

  t.test('required-signatures response: a signed assertion alone does not stand in for the response signature', async (t) => {
    const s = await samlScenario(t, { mode: 'response' });
    const start = await s.start();
    await s.expectRejected(t, () => s.post(s.sign(buildResponseXml(s.fields(start)), 'assertion'), start), 'saml-signature-invalid');
  });
});
