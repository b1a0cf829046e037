/**
 * The page a browser sees when a login does not go through. It says why in plain words from a
 * fixed table, never the raw message: messages can hold attribute values (usernames, emails) or
 * library internals, which belong in the LoginRejected event and the log, not on a screen.
 */
import type { FastifyReply } from 'fastify';
import type { RejectionReason } from '../../schemas/types.gen.js';

const REASON_TEXT: Record<RejectionReason, string> = {
  'provisioning-disabled': 'You do not have an account here yet, and this sign-in method is not allowed to create accounts. Ask an administrator to create your account.',
  'mapping-error': 'Your identity provider did not send the details needed to set up your account (for example your username or email). Ask an administrator to check the sign-in configuration.',
  'user-deactivated': 'Your account has been deactivated. Ask an administrator to reactivate it.',
  'username-conflict': 'Your username is already used by another account, so you cannot be signed in with this identity. Ask an administrator for help.',
  'idp-disabled': 'This sign-in method is currently disabled.',
  'invalid-login': 'The sign-in response from your identity provider could not be verified, or the sign-in took too long. Please start again.',
};

export type ErrorPage = Readonly<{
  status: number;
  title: string;
  /** A plain sentence for the user; must not contain values that came from the login. */
  text: string;
  /** A stable code (problem or error code) that support can look up; no user data. */
  code?: string;
  requestId: string;
}>;

const escapeHtml = (value: string): string =>
  value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

export function reasonText(reason: RejectionReason): string {
  return REASON_TEXT[reason];
}

export function renderErrorPage(page: ErrorPage): string {
  const code = page.code ? `<p class="code">Code: <code>${escapeHtml(page.code)}</code></p>` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>${escapeHtml(page.title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#172b4d}h1{font-size:1.5rem}.code,.id{color:#5e6c84;font-size:.875rem}</style>
</head><body><main><h1>${escapeHtml(page.title)}</h1><p>${escapeHtml(page.text)}</p>${code}
<p class="id">Reference: <code>${escapeHtml(page.requestId)}</code></p><p><a href="/">Back to the start page</a></p></main></body></html>
`;
}

export function sendErrorPage(reply: FastifyReply, page: ErrorPage): FastifyReply {
  return reply
    .status(page.status)
    .header('cache-control', 'no-store')
    .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
    .header('x-content-type-options', 'nosniff')
    .type('text/html; charset=utf-8')
    .send(renderErrorPage(page));
}
