/** Test fixtures: IdP configurations and logins. */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { IdpInput, LoginSucceeded } from '../../schemas/types.gen.js';

export const TEST_IDP_CERT = readFileSync(fileURLToPath(new URL('../fixtures/idp-test.crt', import.meta.url)), 'utf8');
export const TEST_IDP_KEY = readFileSync(fileURLToPath(new URL('../fixtures/idp-test.key', import.meta.url)), 'utf8');
export const FOREIGN_CERT = readFileSync(fileURLToPath(new URL('../fixtures/foreign-test.crt', import.meta.url)), 'utf8');
export const FOREIGN_KEY = readFileSync(fileURLToPath(new URL('../fixtures/foreign-test.key', import.meta.url)), 'utf8');

export const ADMIN_TOKEN = 'admin-token-0123456789abcdef';
export const GATEWAY_TOKEN = 'gateway-token-0123456789abcdef';

export function samlIdp(overrides: Partial<IdpInput> = {}, jit: IdpInput['jit-configuration'] = {}): IdpInput & { id: string } {
  return {
    id: 'okta',
    name: 'Okta (SAML)',
    'sso-type': 'SAML',
    'sso-url': 'https://idp.example.com/sso/saml',
    'sso-issuer': 'https://idp.example.com/metadata',
    certificate: TEST_IDP_CERT,
    'jit-configuration': {
      'user-provisioning-enabled': true,
      'mapping-display-name': '${displayName}',
      'mapping-email': '${email}',
      'mapping-groups': 'groups',
      ...jit,
    },
    ...overrides,
  } as IdpInput & { id: string };
}

export function oidcIdp(overrides: Partial<IdpInput> = {}, jit: IdpInput['jit-configuration'] = {}): IdpInput & { id: string } {
  return {
    id: 'entra',
    name: 'Entra ID (OIDC)',
    'sso-type': 'OIDC',
    'issuer-url': 'https://login.example.com/tenant/v2.0',
    'client-id': 'jit-client',
    'client-secret': 'super-secret-value',
    'username-claim': '${preferred_username}',
    'jit-configuration': {
      'user-provisioning-enabled': true,
      'mapping-display-name': '${name}',
      'mapping-email': '${email}',
      'mapping-groups': 'groups',
      ...jit,
    },
    ...overrides,
  } as IdpInput & { id: string };
}

export function samlLogin(subject: string, attributes: Record<string, string[]> = {}, overrides: Partial<LoginSucceeded> = {}): LoginSucceeded {
  return {
    loginId: randomUUID(),
    idpId: 'okta',
    protocol: 'saml',
    subject,
    attributes: { displayName: [`${subject} Display`], email: [`${subject}@example.com`], groups: ['jira-users'], ...attributes },
    authenticatedAt: new Date().toISOString(),
    ...overrides,
  };
}

export function oidcLogin(sub: string, claims: Record<string, unknown> = {}, overrides: Partial<LoginSucceeded> = {}): LoginSucceeded {
  return {
    loginId: randomUUID(),
    idpId: 'entra',
    protocol: 'oidc',
    subject: sub,
    claims: { sub, preferred_username: sub, name: `${sub} Name`, email: `${sub}@example.com`, groups: ['staff'], ...claims },
    authenticatedAt: new Date().toISOString(),
    ...overrides,
  };
}
