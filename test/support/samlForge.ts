/**
 * A test SAML IdP: builds Responses and signs them with xml-crypto (RSA-SHA256, exclusive c14n,
 * enveloped signatures placed after the Issuer, like Keycloak, Okta and ADFS do). The security
 * suites derive every attack from a response this module signs, so a happy-path response must be
 * accepted first: that proves the harness builds what a real IdP would send.
 */
import { randomBytes } from 'node:crypto';
import { DOMParser, XMLSerializer } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';

export const SAMLP = 'urn:oasis:names:tc:SAML:2.0:protocol';
export const SAML = 'urn:oasis:names:tc:SAML:2.0:assertion';
export const DSIG = 'http://www.w3.org/2000/09/xmldsig#';

export type ResponseFields = {
  issuer: string;
  /** Audience of the assertion (the SP entity id). */
  audience: string;
  /** SubjectConfirmationData/@Recipient (the ACS URL). */
  recipient: string;
  /** Response/@Destination; null leaves it out. */
  destination: string | null;
  /** Response/@InResponseTo; null leaves it out. */
  inResponseTo: string | null;
  /** SubjectConfirmationData/@InResponseTo; defaults to inResponseTo, null leaves it out. */
  subjectInResponseTo?: string | null;
  nameId: string;
  nameIdFormat?: string;
  attributes: Record<string, string[]>;
  /** Milliseconds since the epoch that the timestamps are relative to; defaults to Date.now(). */
  now?: number;
  notBeforeOffsetMs?: number;
  notOnOrAfterOffsetMs?: number;
  assertionId?: string;
  responseId?: string;
  statusCode?: string;
};

export const randomSamlId = (): string => `_${randomBytes(20).toString('hex')}`;

const escapeXml = (value: string): string =>
  value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');

const iso = (ms: number): string => new Date(ms).toISOString();

/** The unsigned Response XML. */
export function buildResponseXml(fields: ResponseFields): string {
  const now = fields.now ?? Date.now();
  const notBefore = iso(now + (fields.notBeforeOffsetMs ?? -60_000));
  const notOnOrAfter = iso(now + (fields.notOnOrAfterOffsetMs ?? 5 * 60_000));
  const assertionId = fields.assertionId ?? randomSamlId();
  const responseId = fields.responseId ?? randomSamlId();
  const subjectInResponseTo = fields.subjectInResponseTo === undefined ? fields.inResponseTo : fields.subjectInResponseTo;
  const attr = (name: string, values: string[]) =>
    `<saml:Attribute Name="${escapeXml(name)}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic">` +
    values.map((v) => `<saml:AttributeValue xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xs:string">${escapeXml(v)}</saml:AttributeValue>`).join('') +
    '</saml:Attribute>';
  return (
    `<samlp:Response xmlns:samlp="${SAMLP}" xmlns:saml="${SAML}" ID="${responseId}" Version="2.0" IssueInstant="${iso(now)}"` +
    (fields.destination === null ? '' : ` Destination="${escapeXml(fields.destination)}"`) +
    (fields.inResponseTo === null ? '' : ` InResponseTo="${escapeXml(fields.inResponseTo)}"`) +
    '>' +
    `<saml:Issuer>${escapeXml(fields.issuer)}</saml:Issuer>` +
    `<samlp:Status><samlp:StatusCode Value="${fields.statusCode ?? 'urn:oasis:names:tc:SAML:2.0:status:Success'}"/></samlp:Status>` +
    `<saml:Assertion ID="${assertionId}" Version="2.0" IssueInstant="${iso(now)}">` +
    `<saml:Issuer>${escapeXml(fields.issuer)}</saml:Issuer>` +
    '<saml:Subject>' +
    `<saml:NameID Format="${fields.nameIdFormat ?? 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified'}">${escapeXml(fields.nameId)}</saml:NameID>` +
    '<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">' +
    `<saml:SubjectConfirmationData NotOnOrAfter="${notOnOrAfter}" Recipient="${escapeXml(fields.recipient)}"` +
    (subjectInResponseTo === null ? '' : ` InResponseTo="${escapeXml(subjectInResponseTo)}"`) +
    '/></saml:SubjectConfirmation>' +
    '</saml:Subject>' +
    `<saml:Conditions NotBefore="${notBefore}" NotOnOrAfter="${notOnOrAfter}">` +
    `<saml:AudienceRestriction><saml:Audience>${escapeXml(fields.audience)}</saml:Audience></saml:AudienceRestriction>` +
    '</saml:Conditions>' +
    `<saml:AuthnStatement AuthnInstant="${iso(now)}" SessionIndex="${randomSamlId()}">` +
    '<saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext>' +
    '</saml:AuthnStatement>' +
    `<saml:AttributeStatement>${Object.entries(fields.attributes).map(([name, values]) => attr(name, values)).join('')}</saml:AttributeStatement>` +
    '</saml:Assertion>' +
    '</samlp:Response>'
  );
}

export type SigningKey = { key: string; cert: string };

function sign(xml: string, element: 'Response' | 'Assertion', signer: SigningKey): string {
  const sig = new SignedXml({
    privateKey: signer.key,
    publicCert: signer.cert,
    signatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
    canonicalizationAlgorithm: 'http://www.w3.org/2001/10/xml-exc-c14n#',
  });
  const target = element === 'Response' ? "/*[local-name(.)='Response']" : "/*[local-name(.)='Response']/*[local-name(.)='Assertion']";
  sig.addReference({
    xpath: target,
    transforms: ['http://www.w3.org/2000/09/xmldsig#enveloped-signature', 'http://www.w3.org/2001/10/xml-exc-c14n#'],
    digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256',
  });
  sig.computeSignature(xml, { prefix: 'ds', location: { reference: `${target}/*[local-name(.)='Issuer']`, action: 'after' } });
  return sig.getSignedXml();
}

export type SignWhat = 'both' | 'response' | 'assertion' | 'none';

/** Signs the assertion and/or the response (assertion first, so the response signature covers it). */
export function signResponseXml(xml: string, what: SignWhat, signer: SigningKey): string {
  let out = xml;
  if (what === 'both' || what === 'assertion') out = sign(out, 'Assertion', signer);
  if (what === 'both' || what === 'response') out = sign(out, 'Response', signer);
  return out;
}

export const toBase64 = (xml: string): string => Buffer.from(xml, 'utf8').toString('base64');

export function parseXml(xml: string): Document {
  return new DOMParser().parseFromString(xml, 'text/xml') as unknown as Document;
}

export function serializeXml(doc: Document | Node): string {
  return new XMLSerializer().serializeToString(doc as never);
}

/** The first element with this namespace and local name, below `from` (document order). */
export function element(from: Document | Element, ns: string, localName: string, index = 0): Element {
  const found = from.getElementsByTagNameNS(ns, localName).item(index);
  if (!found) throw new Error(`no ${localName} #${index} in the XML`);
  return found;
}

/** Direct child elements of `parent` with this local name. */
export function children(parent: Element, localName: string): Element[] {
  const out: Element[] = [];
  for (let node = parent.firstChild; node; node = node.nextSibling) {
    if (node.nodeType === 1 && (node as Element).localName === localName) out.push(node as Element);
  }
  return out;
}

/** Replaces the text of the first element with this local name (breaking whatever signs it). */
export function setText(xml: string, ns: string, localName: string, text: string, index = 0): string {
  const doc = parseXml(xml);
  const target = element(doc, ns, localName, index);
  while (target.firstChild) target.removeChild(target.firstChild);
  target.appendChild(doc.createTextNode(text));
  return serializeXml(doc);
}
