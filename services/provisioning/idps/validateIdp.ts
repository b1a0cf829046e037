/**
 * Cross-field rules of an IdP configuration, checked whenever one is saved (POST, PATCH, the
 * JIT_IDPS_FILE). Each problem names its field; mapping expressions report character positions.
 */
import { X509Certificate } from 'node:crypto';
import type { IdpStored, Problem } from '../../../schemas/types.gen.js';
import { parseExpression, validateGroupsMapping } from '../mapping/index.js';
import { normalizeGroupName } from '../user/normalize.js';

const SAML_ONLY = ['idp-type', 'sso-url', 'sso-issuer', 'certificate', 'username-attribute', 'sp-entity-id', 'required-signatures'] as const;
const OIDC_ONLY = [
  'issuer-url',
  'client-id',
  'client-secret',
  'authorization-endpoint',
  'token-endpoint',
  'userinfo-endpoint',
  'jwks-uri',
  'additional-scopes',
  'username-claim',
  'discovery-enabled',
  'allow-insecure-http',
] as const;

/** Accepts PEM or bare base64 DER; answers the PEM form, or undefined when it is no certificate. */
export function parseCertificate(text: string): { pem: string; notAfter: Date } | undefined {
  const body = text.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+=*$/.test(body)) return undefined;
  try {
    const certificate = new X509Certificate(Buffer.from(body, 'base64'));
    const pem = `-----BEGIN CERTIFICATE-----\n${body.match(/.{1,64}/g)?.join('\n') ?? ''}\n-----END CERTIFICATE-----\n`;
    return { pem, notAfter: new Date(certificate.validTo) };
  } catch {
    return undefined;
  }
}

function urlProblem(field: string, value: string | undefined, allowHttp: boolean): Problem | undefined {
  if (value === undefined || value === '') return { code: 'required', field, message: `${field} is required` };
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { code: 'invalid-url', field, message: `${field} must be an absolute URL` };
  }
  if (url.protocol !== 'https:' && !(allowHttp && url.protocol === 'http:')) {
    return { code: 'insecure-url', field, message: `${field} must use https${allowHttp ? ' or http' : ' (set allow-insecure-http for local test IdPs)'}` };
  }
  return undefined;
}

function expressionProblems(field: string, source: string | undefined): Problem[] {
  if (source === undefined || source === '') return [];
  const result = parseExpression(source);
  return result.ok ? [] : result.errors.map((e) => ({ code: e.code, field, message: e.message, position: e.position }));
}

export function validateIdp(idp: IdpStored): Problem[] {
  const problems: Problem[] = [];
  const add = (p: Problem | undefined) => p && problems.push(p);
  const jit = idp['jit-configuration'];
  const isSaml = idp['sso-type'] === 'SAML';
  for (const field of isSaml ? OIDC_ONLY : SAML_ONLY) {
    if (idp[field] !== undefined) add({ code: 'not-applicable', field, message: `${field} applies to ${isSaml ? 'OIDC' : 'SAML'} IdPs only` });
  }
  if (isSaml) {
    add(urlProblem('sso-url', idp['sso-url'], true));
    if (!idp['sso-issuer']) add({ code: 'required', field: 'sso-issuer', message: 'sso-issuer is required' });
    if (!idp.certificate) add({ code: 'required', field: 'certificate', message: 'certificate is required' });
    else if (!parseCertificate(idp.certificate)) add({ code: 'invalid-certificate', field: 'certificate', message: 'certificate is not a PEM or base64 DER X.509 certificate' });
    problems.push(...expressionProblems('username-attribute', idp['username-attribute']));
    if (jit['additional-openid-scopes']?.length) add({ code: 'not-applicable', field: 'jit-configuration.additional-openid-scopes', message: 'additional-openid-scopes applies to OIDC IdPs only' });
  } else {
    const allowHttp = idp['allow-insecure-http'] === true;
    add(urlProblem('issuer-url', idp['issuer-url'], allowHttp));
    if (!idp['client-id']) add({ code: 'required', field: 'client-id', message: 'client-id is required' });
    if (!idp['client-secret']) add({ code: 'required', field: 'client-secret', message: 'client-secret is required' });
    if (idp['discovery-enabled'] === false) {
      add(urlProblem('authorization-endpoint', idp['authorization-endpoint'], allowHttp));
      add(urlProblem('token-endpoint', idp['token-endpoint'], allowHttp));
      add(urlProblem('jwks-uri', idp['jwks-uri'], allowHttp));
    }
    for (const field of ['authorization-endpoint', 'token-endpoint', 'userinfo-endpoint', 'jwks-uri'] as const) {
      if (idp['discovery-enabled'] !== false && idp[field]) add(urlProblem(field, idp[field], allowHttp));
    }
    problems.push(...expressionProblems('username-claim', idp['username-claim']));
  }
  problems.push(...expressionProblems('jit-configuration.mapping-display-name', jit['mapping-display-name']));
  problems.push(...expressionProblems('jit-configuration.mapping-email', jit['mapping-email']));
  problems.push(
    ...validateGroupsMapping(jit['mapping-groups'] ?? '').map((e) => ({ code: e.code, field: 'jit-configuration.mapping-groups', message: e.message, position: e.position })),
  );
  if (jit['user-provisioning-enabled']) {
    for (const field of ['mapping-display-name', 'mapping-email'] as const) {
      if (!jit[field]?.trim()) add({ code: 'required', field: `jit-configuration.${field}`, message: `${field} is required when user-provisioning-enabled is true` });
    }
  }
  for (const group of jit['additional-groups'] ?? []) {
    if (normalizeGroupName(group).length === 0) add({ code: 'invalid-group', field: 'jit-configuration.additional-groups', message: 'group names must not be blank' });
  }
  return problems;
}
