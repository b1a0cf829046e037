/**
 * A stream of SAML logins for the fault tests: first logins of new users mixed with updates of
 * users already provisioned (new email, display name and groups), sent by a few concurrent workers.
 * No two logins of one user are in flight at once, so the last login sent for a user is the state
 * the read model must end with. Fault injection hooks in through `beforeSend`.
 */
import { randomUUID } from 'node:crypto';
import type { LoginSucceeded } from '../../schemas/types.gen.js';
import { GATEWAY_TOKEN, samlLogin } from './fixtures.js';

/** A small seeded PRNG (mulberry32): a failing run can be repeated with JIT_TEST_SEED. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

export function testSeed(): number {
  const given = process.env['JIT_TEST_SEED'];
  return given ? Number(given) : Math.floor(Math.random() * 2 ** 31);
}

const GROUPS = ['jira-users', 'confluence-users', 'bitbucket-users', 'jira-admins', 'auditors'];

export type ExpectedUser = { subject: string; email: string; displayName: string; groups: string[] };

export type SentLogin = { login: LoginSucceeded; kind: 'first' | 'update' };

export type LoginStreamResult = {
  sent: number;
  firstLogins: number;
  updates: number;
  /** Answers by outcome (provisioned, updated, unchanged, or an error description). */
  outcomes: Record<string, number>;
  /** Logins whose sending failed (the description), expected to be empty. */
  failures: string[];
  /** The attributes of the last login of each user: what the read model must end with. */
  expected: Map<string, ExpectedUser>;
  loginIds: string[];
};

export async function runLoginStream(options: {
  total: number;
  concurrency: number;
  random: () => number;
  /** Unique per test, so subjects (and usernames) never meet another test's. */
  subjectPrefix: string;
  /** Share of logins that update an already provisioned user (default 0.35). */
  updateShare?: number;
  /** Sends one login; answers its outcome. A throw is recorded as a failure. */
  send: (login: LoginSucceeded, index: number) => Promise<string>;
  /** Awaited before login `index` is sent: where fault injection holds the stream. */
  beforeSend?: (index: number) => Promise<void>;
  onSent?: (sent: number) => void;
}): Promise<LoginStreamResult> {
  const { random } = options;
  const updateShare = options.updateShare ?? 0.35;
  const provisioned: string[] = [];
  const inFlight = new Set<string>();
  const expected = new Map<string, ExpectedUser>();
  const outcomes: Record<string, number> = {};
  const failures: string[] = [];
  const loginIds: string[] = [];
  let next = 0;
  let sent = 0;
  let firstLogins = 0;
  let updates = 0;
  let versions = 0;

  const pick = (): SentLogin => {
    const candidates = provisioned.filter((s) => !inFlight.has(s));
    if (candidates.length > 0 && random() < updateShare) {
      const subject = candidates[Math.floor(random() * candidates.length)]!;
      versions += 1;
      const groups = GROUPS.filter(() => random() < 0.5);
      const attributes = { email: [`${subject}.v${versions}@example.com`], displayName: [`${subject} v${versions}`], groups };
      return { kind: 'update', login: samlLogin(subject, attributes) };
    }
    const subject = `${options.subjectPrefix}${firstLogins + updates}-${randomUUID().slice(0, 4)}`;
    return { kind: 'first', login: samlLogin(subject) };
  };

  const worker = async (): Promise<void> => {
    for (;;) {
      const index = next++;
      if (index >= options.total) return;
      await options.beforeSend?.(index);
      const { kind, login } = pick();
      inFlight.add(login.subject);
      if (kind === 'first') firstLogins += 1;
      else updates += 1;
      loginIds.push(login.loginId);
      try {
        const outcome = await options.send(login, index);
        outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
        const attributes = login.attributes ?? {};
        expected.set(login.subject, {
          subject: login.subject,
          email: attributes['email']?.[0] ?? '',
          displayName: attributes['displayName']?.[0] ?? '',
          groups: [...(attributes['groups'] ?? [])],
        });
        if (kind === 'first') provisioned.push(login.subject);
      } catch (error) {
        failures.push(`${login.subject} (${login.loginId}): ${error instanceof Error ? error.message : String(error)}`);
      } finally {
        inFlight.delete(login.subject);
        sent += 1;
        options.onSent?.(sent);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, () => worker()));
  return { sent, firstLogins, updates, outcomes, failures, expected, loginIds };
}

/** POST /rest/jit/1.0/logins; answers the outcome, throws on anything but 200. */
export async function postLogin(baseUrl: string, login: LoginSucceeded): Promise<string> {
  const response = await postLoginRaw(baseUrl, login);
  if (response.status !== 200) throw new Error(`POST /logins answered ${response.status}: ${JSON.stringify(response.body)}`);
  return String(response.body['outcome']);
}

export async function postLoginRaw(baseUrl: string, login: LoginSucceeded): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${baseUrl}/rest/jit/1.0/logins`, {
    method: 'POST',
    headers: { authorization: `Bearer ${GATEWAY_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(login),
    signal: AbortSignal.timeout(60_000),
  });
  const text = await response.text();
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { raw: text };
  }
  return { status: response.status, body };
}

/**
 * Fault injection at progress points: `action(k)` runs once the stream has sent `points[k]`
 * logins and the previous action finished. The stream is held `slack` logins past a point until
 * its action started, so every action happens while logins are still being sent.
 */
export function faultsAt(points: readonly number[], action: (k: number, sent: number) => Promise<void>, slack = 8) {
  let sent = 0;
  let started = 0;
  let busy = false;
  const waiting = new Set<() => void>();
  const errors: unknown[] = [];
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  if (points.length === 0) finish();

  const release = () => {
    for (const resolve of [...waiting]) resolve();
  };
  const maybeStart = () => {
    if (busy || started >= points.length || sent < points[started]!) return;
    const k = started++;
    busy = true;
    release();
    void action(k, sent)
      .catch((error: unknown) => errors.push(error))
      .finally(() => {
        busy = false;
        if (started >= points.length) finish();
        maybeStart();
      });
  };
  return {
    onSent(count: number) {
      sent = count;
      maybeStart();
    },
    async gate(index: number): Promise<void> {
      while (started < points.length && index >= points[started]! + slack && errors.length === 0) {
        await new Promise<void>((resolve) => {
          const wake = () => {
            waiting.delete(wake);
            resolve();
          };
          waiting.add(wake);
          setTimeout(wake, 250);
        });
        maybeStart();
      }
    },
    /** Resolves once every action ran; rejects with the first action's failure. */
    async finished(): Promise<void> {
      await done;
      if (errors.length > 0) throw errors[0];
    },
    errors,
  };
}

/** `count` progress points spread over (0, total), each at a random spot of its own slice. */
export function randomPoints(random: () => number, total: number, count: number, from = 0.1, to = 0.85): number[] {
  const width = (to - from) / count;
  return Array.from({ length: count }, (_, k) => Math.floor(total * (from + width * (k + 0.2 + 0.6 * random()))));
}
