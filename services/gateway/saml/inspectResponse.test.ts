import t from 'tap';
import { ServiceError } from '../../shared/errors.js';
import { assertPlainXml, MAX_SAML_RESPONSE_BYTES, readPostedResponse, responseEnvelope } from './inspectResponse.js';

const RESPONSE = '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r" InResponseTo="_req" Destination="https://sp/acs"><x/></samlp:Response>';
const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

function problemOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return ServiceError.isInstance(error) ? error.problems?.[0]?.code : `not a ServiceError: ${String(error)}`;
  }
  return undefined;
}

t.test('assertPlainXml refuses DTDs, comments and processing instructions', async (t) => {
  const cases: [string, string | undefined][] = [
    [RESPONSE, undefined],
    [`<?xml version="1.0" encoding="UTF-8"?>${RESPONSE}`, undefined],
    [`\uFEFF<?xml version="1.0"?>${RESPONSE}`, undefined],
    [RESPONSE.replace('<x/>', '<x><![CDATA[a <!-- not a comment --> b]]></x>'), undefined],
    [`<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>${RESPONSE}`, 'saml-dtd-forbidden'],
    [`<!doctype r>${RESPONSE}`, 'saml-dtd-forbidden'],
    [RESPONSE.replace('<x/>', '<!ENTITY a "b">'), 'saml-dtd-forbidden'],
    [RESPONSE.replace('<x/>', '<x>a<!---->b</x>'), 'saml-xml-comment-forbidden'],
    [`<?xml version="1.0"?><?xml-stylesheet href="x"?>${RESPONSE}`, 'saml-processing-instruction-forbidden'],
    [RESPONSE.replace('<x/>', '<?php echo 1 ?>'), 'saml-processing-instruction-forbidden'],
    [RESPONSE.replace('<x/>', '<![CDATA[unterminated'), 'saml-markup-forbidden'],
    [RESPONSE.replace('<x/>', '<!ATTLIST x y CDATA "z">'), 'saml-markup-forbidden'],
  ];
  for (const [xml, code] of cases) t.equal(problemOf(() => assertPlainXml(xml)), code, xml.slice(0, 60));
});

t.test('readPostedResponse narrows the form body', async (t) => {
  t.same(readPostedResponse({ SAMLResponse: b64(RESPONSE), RelayState: '_req' }), { xml: RESPONSE, relayState: '_req' });
  t.same(readPostedResponse({ SAMLResponse: `${b64(RESPONSE).slice(0, 20)}\r\n${b64(RESPONSE).slice(20)}` }), { xml: RESPONSE, relayState: undefined }, 'line-wrapped base64');
  t.equal(problemOf(() => readPostedResponse(undefined)), 'saml-response-missing');
  t.equal(problemOf(() => readPostedResponse({})), 'saml-response-missing');
  t.equal(problemOf(() => readPostedResponse({ SAMLResponse: [b64(RESPONSE), b64(RESPONSE)] })), 'saml-response-missing');
  t.equal(problemOf(() => readPostedResponse({ SAMLResponse: b64(RESPONSE), RelayState: ['a', 'b'] })), 'saml-relay-state-invalid');
  t.equal(problemOf(() => readPostedResponse({ SAMLResponse: 'not base64!' })), 'saml-response-not-base64');
  t.equal(problemOf(() => readPostedResponse({ SAMLResponse: 'YWJj=' })), 'saml-response-not-base64', 'bad padding');
  t.equal(problemOf(() => readPostedResponse({ SAMLResponse: b64(`${RESPONSE}${' '.repeat(MAX_SAML_RESPONSE_BYTES)}`) })), 'saml-response-too-large');
});

t.test('responseEnvelope reads the root only, and only from a SAML Response', async (t) => {
  t.same(responseEnvelope(RESPONSE), { inResponseTo: '_req', destination: 'https://sp/acs', status: undefined });
  t.same(responseEnvelope(RESPONSE.replace(' InResponseTo="_req"', '')), { inResponseTo: undefined, destination: 'https://sp/acs', status: undefined });
  const withStatus = RESPONSE.replace('<x/>', '<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Requester"/></samlp:Status>');
  t.equal(responseEnvelope(withStatus).status, 'urn:oasis:names:tc:SAML:2.0:status:Requester');
  t.equal(problemOf(() => responseEnvelope('<Response InResponseTo="_req"/>')), 'saml-xml-invalid', 'no SAML namespace');
  t.equal(problemOf(() => responseEnvelope('<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"')), 'saml-xml-invalid', 'not well-formed');
  t.equal(problemOf(() => responseEnvelope('not xml')), 'saml-xml-invalid');
});
