/**
 * Facts read from the signed assertion node-saml hands back (`profile.getAssertion()`: the
 * xml2js form of the canonical XML that the verified signature covers). The shape is untrusted
 * until each value is checked here, so everything is narrowed from `unknown`.
 */
import type { Profile } from '@node-saml/node-saml';

export type Confirmation = Readonly<{
  method: string | undefined;
  recipient: string | undefined;
  inResponseTo: string | undefined;
  notBefore: number | undefined;
  notOnOrAfter: number | undefined;
}>;

export type AssertionFacts = Readonly<{
  id: string | undefined;
  issuer: string | undefined;
  nameId: string | undefined;
  nameIdFormat: string | undefined;
  confirmations: readonly Confirmation[];
  conditionsNotOnOrAfter: number | undefined;
  authnInstant: number | undefined;
  attributes: Record<string, string[]>;
}>;

type Node = Record<string, unknown>;

const asNode = (value: unknown): Node | undefined => (typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Node) : undefined);

/** xml2js puts every child element in an array. */
const childNodes = (node: Node | undefined, name: string): Node[] => {
  const value = node?.[name];
  return Array.isArray(value) ? value.flatMap((v) => (asNode(v) ? [v as Node] : typeof v === 'string' ? [{ _: v }] : [])) : [];
};

const firstChild = (node: Node | undefined, name: string): Node | undefined => childNodes(node, name)[0];

const attribute = (node: Node | undefined, name: string): string | undefined => {
  const value = asNode(node?.['$'])?.[name];
  return typeof value === 'string' ? value : undefined;
};

/** Text content of a simple element; undefined when it has child elements. */
function textOf(node: Node | undefined): string | undefined {
  if (!node) return undefined;
  const hasChildren = Object.keys(node).some((k) => k !== '_' && k !== '$');
  if (hasChildren) return undefined;
  const text = node['_'];
  return typeof text === 'string' ? text : '';
}

function instant(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : undefined;
}

/**
 * All AttributeValues of every Attribute, merged by name (IdPs split multi-valued attributes
 * across several Attribute elements). Values with element content are skipped: mappings work on text.
 */
function attributesOf(assertion: Node): Record<string, string[]> {
  const merged = new Map<string, string[]>();
  for (const statement of childNodes(assertion, 'AttributeStatement')) {
    for (const attr of childNodes(statement, 'Attribute')) {
      const name = attribute(attr, 'Name');
      if (name === undefined || name === '' || name === '__proto__') continue;
      const values = childNodes(attr, 'AttributeValue').flatMap((v) => {
        const text = textOf(v);
        return text === undefined ? [] : [text];
      });
      merged.set(name, [...(merged.get(name) ?? []), ...values]);
    }
  }
  return Object.fromEntries(merged);
}

export function signedAssertionFacts(profile: Profile): AssertionFacts {
  const assertion = asNode(asNode(profile.getAssertion?.())?.['Assertion']);
  if (!assertion) throw new TypeError('node-saml returned a profile without the signed assertion');
  const subject = firstChild(assertion, 'Subject');
  const conditions = firstChild(assertion, 'Conditions');
  return {
    id: attribute(assertion, 'ID'),
    issuer: textOf(firstChild(assertion, 'Issuer')),
    nameId: textOf(firstChild(subject, 'NameID')),
    nameIdFormat: attribute(firstChild(subject, 'NameID'), 'Format'),
    confirmations: childNodes(subject, 'SubjectConfirmation').map((confirmation) => {
      const data = firstChild(confirmation, 'SubjectConfirmationData');
      return {
        method: attribute(confirmation, 'Method'),
        recipient: attribute(data, 'Recipient'),
        inResponseTo: attribute(data, 'InResponseTo'),
        notBefore: instant(attribute(data, 'NotBefore')),
        notOnOrAfter: instant(attribute(data, 'NotOnOrAfter')),
      };
    }),
    conditionsNotOnOrAfter: instant(attribute(conditions, 'NotOnOrAfter')),
    authnInstant: instant(attribute(firstChild(assertion, 'AuthnStatement'), 'AuthnInstant')),
    attributes: attributesOf(assertion),
  };
}
