/** What a completed SAML or OIDC login hands to the mapping, already signature-checked. */
export type LoginSource =
  | {
      readonly protocol: 'saml';
      readonly nameId: string;
      readonly attributes: Readonly<Record<string, readonly string[]>>;
    }
  | { readonly protocol: 'oidc'; readonly claims: Readonly<Record<string, unknown>> };

/**
 * Attribute and claim names come from admin configuration and IdP payloads; a plain
 * `record[name]` would let `${constructor}` or `${__proto__}` resolve to Object.prototype
 * members, so only own properties count.
 */
export function ownValue<T>(record: Readonly<Record<string, T>>, name: string): T | undefined {
  return Object.hasOwn(record, name) ? record[name] : undefined;
}
