/**
 * The admin page end to end, in headless Chromium against a listening app with two IdPs and 30
 * users: sign in with the admin token, search, filter, page, download the CSV, open a timeline,
 * deactivate, run the mapping tester and the impact analysis; then sign in through SAML as a
 * member of an admin group (and as someone who is not). Screenshots go to docs/admin*.png.
 */
import { readFileSync } from 'node:fs';
import t from 'tap';
import type { Page } from 'playwright-core';
import { ADMIN_TOKEN } from '../support/fixtures.js';
import {
  actAsSamlIdp,
  DEVELOPERS,
  DORMANT,
  launchChromium,
  MARKUP_NAME,
  OIDC_PEOPLE,
  samlAttributes,
  screenshotPath,
  seedPeople,
  startListeningApp,
  submitLogin,
  tableUsernames,
  until,
} from './browserHarness.js';
import { samlLogin } from '../support/fixtures.js';

const text = (page: Page, selector: string) => page.locator(selector).first().innerText();

/** A screenshot of the settled page: at the top, no toast in front. */
async function screenshot(page: Page, name: string, fullPage = true): Promise<void> {
  await page.evaluate('window.scrollTo(0, 0)');
  await page.locator('#toast:not(.show)').waitFor({ state: 'attached' });
  await page.screenshot({ path: screenshotPath(name), fullPage, animations: 'disabled' });
}

t.test('the admin page in a browser', async (t) => {
  const app = await startListeningApp(t);
  await seedPeople(app.base);
  // A second login that changes her groups gives Grace's timeline an update.
  await submitLogin(app.base, samlLogin('grace.hopper', samlAttributes('grace.hopper', ['jira-users', 'developers', 'confluence-users'])));

  const context = await launchChromium(t);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => m.type() === 'error' && !/Failed to load resource: the server responded with a status of 4\d\d/.test(m.text()) && problems.push(m.text()));
  page.on('pageerror', (e) => problems.push(e.message));
  const requests: { url: string; authorization: string | undefined; csrf: string | undefined }[] = [];
  page.on('request', (r) => requests.push({ url: r.url(), authorization: r.headers()['authorization'], csrf: r.headers()['x-jit-csrf'] }));

  await t.test('the login screen: SSO buttons for enabled IdPs and the token form', async (t) => {
    await page.goto(`${app.base}/admin`);
    await page.getByRole('heading', { name: 'JIT provisioning' }).waitFor();
    const okta = page.getByRole('link', { name: 'Sign in with Okta' });
    t.equal(await okta.getAttribute('href'), '/sso/okta/login?returnTo=%2Fadmin');
    t.equal(await page.getByRole('link', { name: 'Sign in with Entra ID' }).count(), 1);

    await page.getByLabel('Admin token').fill('not-the-token-0123456789');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('That admin token was not accepted.').waitFor();
    t.equal(await page.evaluate('sessionStorage.length'), 0, 'a refused token is not kept');
  });

  await t.test('token sign-in, the table, paging', async (t) => {
    await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Users', level: 1 }).waitFor();
    const first = await until('page one', () => tableUsernames(page), (names) => names.length === 25);
    t.equal(first[0], 'ada.lovelace', 'sorted by username');
    t.match(await text(page, '.pager .range'), /^1–25 of 30$/);
    t.match(await text(page, '.view-head .lead'), /30 users/);
    t.equal(await page.evaluate("sessionStorage.getItem('jit-admin-token')"), ADMIN_TOKEN, 'the token is in sessionStorage');
    t.equal(await page.evaluate('document.cookie'), '', 'and in no cookie');
    await screenshot(page, 'admin.png', false);

    await page.getByRole('button', { name: 'Next →' }).click();
    const second = await until('page two', () => tableUsernames(page), (names) => names.length === 5);
    t.notOk(second.some((n) => first.includes(n)), 'page two follows page one');
    t.match(await text(page, '.pager .range'), /^26–30 of 30$/);
    t.ok(await page.getByRole('button', { name: 'Next →' }).isDisabled());
    await page.getByRole('button', { name: '← Previous' }).click();
    t.same(await until('page one again', () => tableUsernames(page), (n) => n.length === 25), first);
  });

  await t.test('search and filters', async (t) => {
    await page.getByLabel('Search').fill('grace');
    t.same(await until('search', () => tableUsernames(page), (n) => n.length === 1), ['grace.hopper']);
    t.match(page.url(), /#\/users\?q=grace$/, 'the filters are in the address');

    await page.getByLabel('Search').fill('hedy');
    await until('search', () => tableUsernames(page), (n) => n.join() === 'hedy.lamarr');
    t.equal(await text(page, 'tbody tr td:nth-child(2)'), MARKUP_NAME, 'markup from an IdP is shown as text');
    t.equal(await page.locator('tbody img, tbody b').count(), 0, 'and never becomes elements');
    t.equal(await page.evaluate('window.__xss'), undefined, 'nor runs');
    await page.getByLabel('Search').fill('');

    await page.getByLabel('Identity provider').selectOption('entra');
    t.same((await until('IdP filter', () => tableUsernames(page), (n) => n.length === OIDC_PEOPLE.length)).sort(), [...OIDC_PEOPLE].sort());
    await page.getByRole('button', { name: 'Clear' }).click();

    await page.getByLabel('Group').fill('developers');
    const developers = await until('group filter', () => tableUsernames(page), (n) => n.length === DEVELOPERS.length);
    t.same(developers.sort(), [...DEVELOPERS].sort());
    await page.getByRole('button', { name: 'Clear' }).click();

    const monthAgo = new Date(Date.now() - 30 * 86_400_000).toISOString().slice(0, 10);
    await page.getByLabel('No sign-in since').fill(monthAgo);
    t.same((await until('inactive filter', () => tableUsernames(page), (n) => n.length === DORMANT.length)).sort(), [...DORMANT].sort());
    await page.getByRole('button', { name: 'Clear' }).click();
    await until('all users', () => tableUsernames(page), (n) => n.length === 25);
  });

  await t.test('CSV download, through fetch with the bearer header', async (t) => {
    await page.getByLabel('Identity provider').selectOption('entra');
    await until('IdP filter', () => tableUsernames(page), (n) => n.length === OIDC_PEOPLE.length);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download CSV' }).click()]);
    t.match(download.suggestedFilename(), /^jit-users-\d{4}-\d{2}-\d{2}\.csv$/);
    const lines = readFileSync((await download.path())!, 'utf8').trim().split(/\r?\n/);
    t.match(lines[0], /^username,display-name,email/);
    t.equal(lines.length, 1 + OIDC_PEOPLE.length, 'a header and the six Entra users');
    const csvCall = requests.find((r) => r.url.includes('/jit-users?') && r.url.includes('limit=10000'));
    t.equal(csvCall?.authorization, `Bearer ${ADMIN_TOKEN}`, 'the CSV call carries the bearer header');
    await page.getByRole('button', { name: 'Clear' }).click();
  });

  await t.test("a user's timeline, and deactivation", async (t) => {
    await page.getByLabel('Search').fill('grace');
    await until('search', () => tableUsernames(page), (n) => n.join() === 'grace.hopper');
    await page.getByRole('link', { name: 'grace.hopper' }).click();
    await page.getByRole('heading', { name: 'Grace Hopper', level: 1 }).waitFor();
    const events = page.locator('.timeline .event');
    const types = await Promise.all(Array.from({ length: await events.count() }, (_, i) => events.nth(i).getAttribute('data-type')));
    t.same(types, ['UserLoggedIn', 'UserUpdated', 'UserLoggedIn', 'UserProvisioned'], 'newest first');
    t.match(await text(page, '.event[data-type="UserUpdated"]'), /Changed groups at a login through okta/);
    t.match(await text(page, '.event[data-type="UserUpdated"] .chips'), /\+ confluence-users/);
    t.match(await text(page, '.event[data-type="UserProvisioned"] .event-actor'), /by/);
    t.match(await text(page, '.groups'), /confluence-users\s+from okta/);
    await screenshot(page, 'admin-timeline.png');

    await page.getByRole('button', { name: 'Deactivate…' }).click();
    await page.getByLabel('Comment (optional)').fill('Left the company');
    await page.getByRole('dialog').getByRole('button', { name: 'Deactivate' }).click();
    await page.locator('.detail-head .badge.bad').waitFor();
    t.match(await text(page, '.timeline .event'), /Deactivated[\s\S]*Left the company[\s\S]*admin token/);
    t.equal((await app.runtime.readModel.findUser('grace.hopper'))?.active, false, 'deactivated in the read model');

    await page.getByRole('link', { name: '← All users' }).click();
    await page.getByLabel('Search').fill('');
    await page.getByLabel('Status').selectOption('false');
    t.same(await until('deactivated filter', () => tableUsernames(page), (n) => n.join() === 'grace.hopper'), ['grace.hopper']);
    await page.getByRole('button', { name: 'Clear' }).click();
  });

  await t.test('the mapping tester', async (t) => {
    await page.getByRole('link', { name: 'Mapping tester' }).click();
    await page.getByRole('heading', { name: 'Mapping tester', level: 1 }).waitFor();
    await page.getByLabel('Identity provider').selectOption('okta');
    const sample = page.getByLabel('Login (JSON)');
    t.match(await sample.inputValue(), /"name-id"[\s\S]*"displayName"[\s\S]*"groups"/, 'an example shaped after the mapping');
    await page.getByRole('button', { name: 'Run dry run' }).click();
    await page.locator('.result[data-outcome="would-provision"]').waitFor();
    t.match(await text(page, '.result'), /Would create a new user[\s\S]*ada@example.com/);

    await sample.fill(JSON.stringify({ 'name-id': 'ada.lovelace', attributes: { displayName: ['Ada King'], groups: ['jira-users'] } }, null, 2));
    await page.getByRole('button', { name: 'Run dry run' }).click();
    await page.locator('.result[data-outcome="would-reject"]').waitFor();
    t.match(await text(page, '.problems'), /attribute-missing/, 'a missing email rejects the login');

    await sample.fill('{\n  "name-id": "ada.lovelace",\n}');
    await page.getByRole('button', { name: 'Run dry run' }).click();
    await page.locator('.problem[data-code="invalid-json"] mark').waitFor();
    t.equal(await text(page, '.problems mark'), '}', 'a JSON typo is marked in the sample');
    await page.getByRole('button', { name: 'Reset to example' }).click();

    await page.getByText('Try a different mapping (optional)').click();
    await page.getByLabel('Proposed changes (JSON, fields as in PATCH)').fill(JSON.stringify({ 'jit-configuration': { 'mapping-email': '${email | lower}x}' } }, null, 2));
    await page.getByRole('button', { name: 'Run dry run' }).click();
    await page.locator('.problem[data-code="unmatched-close-brace"] mark').waitFor();
    t.equal(await text(page, '.problems mark'), '}', 'the stray } is marked where it stands');
    await screenshot(page, 'admin-tester.png');
  });

  await t.test('impact analysis', async (t) => {
    await page.getByRole('link', { name: 'Impact analysis' }).click();
    await page.getByLabel('Identity provider').selectOption('okta');
    const proposal = page.getByLabel('jit-configuration (JSON)');
    const jit = JSON.parse(await proposal.inputValue()) as Record<string, unknown>;
    await proposal.fill(JSON.stringify({ ...jit, 'additional-groups': ['staff'] }, null, 2));
    await page.getByRole('button', { name: 'Analyze' }).click();
    await page.locator('.result .summary').waitFor();
    t.match(await text(page, '.result table'), /staff\s+\+23/, 'every active Okta user would join staff');
  });

  await t.test('sign out, then SAML sign-in as a member of an admin group', async (t) => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Admin token').waitFor();
    t.equal(await page.evaluate('sessionStorage.length'), 0, 'signing out forgets the token');

    let person = { nameId: 'margaret.hamilton', attributes: samlAttributes('margaret.hamilton') };
    await actAsSamlIdp(context, app, () => person);
    requests.length = 0;
    await page.getByRole('link', { name: 'Sign in with Okta' }).click();
    await page.getByRole('button', { name: 'Continue as margaret.hamilton' }).click();
    await page.waitForURL(`${app.base}/admin`);
    t.equal((await until('the SSO table', () => tableUsernames(page), (n) => n.length === 25))[0], 'ada.lovelace');
    t.match(await text(page, '#who'), /Signed in as Margaret Hamilton/);
    const apiCalls = requests.filter((r) => r.url.includes('/rest/authconfig/'));
    t.ok(apiCalls.length > 0 && apiCalls.every((r) => r.authorization === undefined && r.csrf === '1'), 'cookie calls: no bearer header, the CSRF header');

    await page.goto(`${app.base}/admin#/users/grace.hopper`);
    await page.getByRole('button', { name: 'Reactivate…' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Reactivate' }).click();
    await page.locator('.detail-head .badge.ok').waitFor();
    t.match(await text(page, '.timeline .event'), /Reactivated[\s\S]*margaret\.hamilton \(signed in with SSO\)/, 'the event names the SSO admin');

    await page.getByRole('button', { name: 'Sign out' }).click();
    person = { nameId: 'ada.lovelace', attributes: samlAttributes('ada.lovelace') };
    await page.getByRole('link', { name: 'Sign in with Okta' }).click();
    await page.getByRole('button', { name: 'Continue as ada.lovelace' }).click();
    await page.getByText('Your SSO session does not include an administrator group').waitFor();
    t.equal(await page.getByRole('button', { name: 'Sign out ada.lovelace' }).count(), 1, 'a signed-in non-admin is told why, and may sign out');
  });

  t.same(problems, [], 'no script error or CSP violation on the way');
});
