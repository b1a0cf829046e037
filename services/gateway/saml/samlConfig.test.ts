import { createPublicKey, createSign, createVerify } from 'node:crypto';
import { SAML } from '@node-saml/node-saml';
import t from 'tap';
import { FOREIGN_CERT, TEST_IDP_CERT, TEST_IDP_KEY } from '../../../test/support/fixtures.js';
import { GatewaySaml, verificationKey } from './samlConfig.js';

const der = (pem: string) => createPublicKey(pem).export({ type: 'spki', format: 'der' }).toString('base64');

t.test('verificationKey: the RSA key the certificate carries, or the text unchanged', async (t) => {
  const key = verificationKey(TEST_IDP_CERT);
  t.match(key, /^-----BEGIN RSA PUBLIC KEY-----\n/);
  t.equal(der(key), der(TEST_IDP_CERT), 'the same public key as the certificate');
  t.equal(verificationKey(TEST_IDP_CERT), key, 'cached');
  const bareBase64 = TEST_IDP_CERT.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
  t.equal(der(verificationKey(bareBase64)), der(TEST_IDP_CERT), 'bare base64 DER, as the IdP validation accepts it');
  t.not(der(verificationKey(FOREIGN_CERT)), der(TEST_IDP_CERT), 'another certificate, another key');

  const signature = createSign('RSA-SHA256').update('signed info').sign(TEST_IDP_KEY, 'base64');
  t.ok(createVerify('RSA-SHA256').update('signed info').verify(key, signature, 'base64'));
  t.notOk(createVerify('RSA-SHA256').update('signed info').verify(verificationKey(FOREIGN_CERT), signature, 'base64'));

  for (const text of [`${TEST_IDP_CERT}\n${FOREIGN_CERT}`, 'not a certificate', '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n', 'QUJD']) {
    t.equal(verificationKey(text), text, `passed through: ${text.slice(0, 30)}`);
  }
});

t.test("GatewaySaml.getSignedAssertion answers what node-saml's does, and keeps the signed Response's envelope", async (t) => {
  const P = 'urn:oasis:names:tc:SAML:2.0:protocol';
  const A = 'urn:oasis:names:tc:SAML:2.0:assertion';
  const assertion = `<saml:Assertion xmlns:saml="${A}" ID="_a"><saml:Issuer>idp</saml:Issuer></saml:Assertion>`;
  const status = `<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>`;
  const cases: [string, string, { destination: string | undefined; status: string | undefined } | undefined][] = [
    ['signed Response', `<samlp:Response xmlns:samlp="${P}" ID="_r" Destination="https://sp/acs">${status}${assertion}</samlp:Response>`, { destination: 'https://sp/acs', status: 'urn:oasis:names:tc:SAML:2.0:status:Success' }],
    ['no Destination, no Status', `<samlp:Response xmlns:samlp="${P}" ID="_r">${assertion}</samlp:Response>`, { destination: undefined, status: undefined }],
    ['Response outside the protocol namespace', `<Response ID="_r" Destination="https://sp/acs">${assertion}</Response>`, undefined],
    ['two assertions', `<samlp:Response xmlns:samlp="${P}" ID="_r" Destination="https://sp/acs">${assertion}${assertion}</samlp:Response>`, undefined],
    ['no assertion', `<samlp:Response xmlns:samlp="${P}" ID="_r" Destination="https://sp/acs">${status}</samlp:Response>`, undefined],
    ['signed Assertion', assertion, undefined],
    ['anything else', `<samlp:LogoutResponse xmlns:samlp="${P}" ID="_l"/>`, undefined],
  ];
  const options = { callbackUrl: 'https://sp/acs', issuer: 'sp', audience: 'sp', idpCert: TEST_IDP_CERT };
  type Exposed = { getSignedAssertion(xml: string): Promise<string | null> };
  for (const [name, xml, envelope] of cases) {
    const saml = new GatewaySaml(options);
    const expected = await (SAML.prototype as unknown as Exposed).getSignedAssertion.call(new SAML(options), xml);
    t.equal(await (saml as unknown as Exposed).getSignedAssertion(xml), expected, `${name}: the same assertion XML`);
    t.same(saml.signedEnvelope && { destination: saml.signedEnvelope.destination, status: saml.signedEnvelope.status }, envelope, `${name}: envelope`);
  }
  // Malformed or odd input: the same outcome, and the same error (but for xmldom's position suffix).
  const outcome = (promise: Promise<string | null>) => promise.then((value) => `ok ${value}`, (error: Error) => `error ${error.message.split('\n')[0]}`);
  for (const xml of ['', 'not xml', `<samlp:Response xmlns:samlp="${P}">`, `<samlp:Response xmlns:samlp="${P}"><a></b></samlp:Response>`, `<samlp:Response xmlns:samlp="${P}"><x a="1" a="2"/></samlp:Response>`]) {
    const saml = new GatewaySaml(options);
    const expected = await outcome((SAML.prototype as unknown as Exposed).getSignedAssertion.call(new SAML(options), xml));
    t.equal(await outcome((saml as unknown as Exposed).getSignedAssertion(xml)), expected, `${JSON.stringify(xml)}: ${expected}`);
    t.equal(saml.signedEnvelope, undefined);
  }
});
