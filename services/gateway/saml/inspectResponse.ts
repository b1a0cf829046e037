/**
 * The first look at a posted SAMLResponse, before any XML parser sees it: strict base64, a size
 * bound, and no DTDs (external entities, billion laughs), comments or processing instructions.
 * A SAML protocol message has no use for any of these; comments in particular are how NameID
 * truncation attacks work (exclusive c14n drops them, so a signature still verifies after
 * `admin<!---->@example.com.evil` was cut into two text nodes).
 */
import { DOMParser } from '@xmldom/xmldom';
import { invalidLogin } from '../rejections.js';

/** Decoded XML size bound; the form body limit bounds the base64 text before this. */
export const MAX_SAML_RESPONSE_BYTES = 256 * 1024;

export type PostedResponse = Readonly<{ xml: string; relayState: string | undefined }>;

/** Narrows the untrusted form body of an ACS post. */
export function readPostedResponse(body: unknown): PostedResponse {
  if (typeof body !== 'object' || body === null) throw invalidLogin('saml-response-missing', 'The POST has no form body');
  const form = body as Record<string, unknown>;
  const encoded = form['SAMLResponse'];
  const relayState = form['RelayState'];
  if (typeof encoded !== 'string' || encoded.length === 0) throw invalidLogin('saml-response-missing', 'The POST has no single SAMLResponse field');
  if (relayState !== undefined && (typeof relayState !== 'string' || relayState.length > 1024)) {
    throw invalidLogin('saml-relay-state-invalid', 'RelayState is not a single short value');
  }
  const compact = encoded.replace(/[\r\n\t ]/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(compact) || compact.length % 4 !== 0) {
    throw invalidLogin('saml-response-not-base64', 'SAMLResponse is not base64 (the POST binding does not deflate)');
  }
  const bytes = Buffer.from(compact, 'base64');
  if (bytes.length > MAX_SAML_RESPONSE_BYTES) throw invalidLogin('saml-response-too-large', `SAMLResponse is ${bytes.length} bytes; at most ${MAX_SAML_RESPONSE_BYTES} are accepted`);
  const xml = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  assertPlainXml(xml);
  return { xml, relayState: typeof relayState === 'string' && relayState !== '' ? relayState : undefined };
}

/** Refuses markup that has no place in a SAML message, by a scan that needs no parser. */
export function assertPlainXml(xml: string): void {
  // `<` cannot appear unescaped in attribute values or text, so outside CDATA sections (which c14n
  // turns into plain text, and which some IdPs use for attribute values) these are markup.
  const markup = xml.replace(/<!\[CDATA\[[\s\S]*?\]\]>/g, '');
  if (/<!DOCTYPE|<!ENTITY/i.test(markup)) throw invalidLogin('saml-dtd-forbidden', 'The response contains a DTD or entity declaration');
  if (markup.includes('<!--')) throw invalidLogin('saml-xml-comment-forbidden', 'The response contains an XML comment');
  if (markup.replace(/^\uFEFF?<\?xml[^?]*\?>/, '').includes('<?')) {
    throw invalidLogin('saml-processing-instruction-forbidden', 'The response contains a processing instruction');
  }
  if (markup.includes('<!')) throw invalidLogin('saml-markup-forbidden', 'The response contains a markup declaration');
}

/**
 * What the root Response element says about itself — InResponseTo, Destination and the top-level
 * status — read only to route a post to the right IdP and to refuse misdirected or failed
 * responses; nothing read here is used as identity data.
 */
export function responseEnvelope(xml: string): ResponseEnvelope {
  let failed = false;
  const fail = () => {
    failed = true;
  };
  const doc = new DOMParser({ errorHandler: { warning: () => undefined, error: fail, fatalError: fail } }).parseFromString(xml, 'text/xml');
  const root = doc.documentElement;
  if (failed || !root || !isSamlResponse(root)) {
    throw invalidLogin('saml-xml-invalid', 'The document is not a SAML 2.0 Response');
  }
  return envelopeOf(root);
}

export type ResponseEnvelope = Readonly<{ inResponseTo: string | undefined; destination: string | undefined; status: string | undefined }>;

export const SAMLP = 'urn:oasis:names:tc:SAML:2.0:protocol';

export const isSamlResponse = (element: Element): boolean => element.localName === 'Response' && element.namespaceURI === SAMLP;

/** The envelope of a samlp:Response element (see isSamlResponse), already parsed. */
export function envelopeOf(root: Element): ResponseEnvelope {
  const attribute = (element: Element | undefined, name: string) => (element?.hasAttribute(name) ? element.getAttribute(name) ?? undefined : undefined);
  const statusCode = childElement(childElement(root, 'Status'), 'StatusCode');
  return { inResponseTo: attribute(root, 'InResponseTo'), destination: attribute(root, 'Destination'), status: attribute(statusCode, 'Value') };
}

function childElement(parent: Element | undefined, localName: string): Element | undefined {
  for (let node = parent?.firstChild ?? null; node; node = node.nextSibling) {
    if (node.nodeType === 1 && (node as Element).localName === localName && (node as Element).namespaceURI === SAMLP) return node as Element;
  }
  return undefined;
}
