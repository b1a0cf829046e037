/**
 * GET /admin and its assets: served by a process that runs `api`, with a strict CSP and the other
 * protective headers, versioned assets cached for good, nothing inline, and page code that never
 * turns data into markup.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import pino from 'pino';
import t, { type Test } from 'tap';
import { adminAssetsDir, loadAdminAssets } from '../../services/admin/adminAssets.js';
import { adminPage } from '../../services/admin/adminPage.js';
import type { Runtime } from '../../services/runtime.js';
import { startTestApp } from '../support/testRuntime.js';

const ASSETS = adminAssetsDir();

function expectProtected(t: Test, headers: Record<string, unknown>, what: string) {
  const csp = String(headers['content-security-policy']);
  const directives = new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([name = '', ...values]) => [name, values]));
  t.same(directives.get('default-src'), ["'self'"], `${what}: default-src 'self'`);
  t.same(directives.get('script-src'), ["'self'"], `${what}: scripts from this origin only`);
  t.same(directives.get('style-src'), ["'self'"], `${what}: styles from this origin only`);
  t.same(directives.get('frame-ancestors'), ["'none'"], `${what}: never framed`);
  t.same(directives.get('object-src'), ["'none'"]);
  t.same(directives.get('base-uri'), ["'none'"]);
  t.same(directives.get('require-trusted-types-for'), ["'script'"], `${what}: Trusted Types`);
  t.notMatch(csp, /unsafe-inline|unsafe-eval|\*/, `${what}: nothing unsafe, no wildcard`);
  t.equal(headers['x-frame-options'], 'DENY', `${what}: X-Frame-Options`);
  t.equal(headers['referrer-policy'], 'no-referrer', `${what}: Referrer-Policy`);
  t.equal(headers['x-content-type-options'], 'nosniff');
}

t.test('GET /admin: the page, its assets and their headers', async (t) => {
  const api = await startTestApp();
  t.teardown(api.close);
  const { app } = api;

  const page = await app.inject({ url: '/admin' });
  t.equal(page.statusCode, 200);
  t.match(page.headers['content-type'], /^text\/html; charset=utf-8/);
  t.equal(page.headers['cache-control'], 'no-cache', 'the page is revalidated, so a deploy shows at once');
  expectProtected(t, page.headers, 'the page');
  t.equal((await app.inject({ url: '/admin/' })).statusCode, 200, 'with a trailing slash too');

  const html = page.body;
  t.notMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/i, 'no inline script');
  t.notMatch(html, /<style|\sstyle=|\son[a-z]+=/i, 'no inline style or event handler attribute');
  t.notMatch(html, /\{\{assets\}\}/, 'asset URLs are filled in');
  const version = /\/admin\/assets\/([0-9a-f]{12})\/app\.js/.exec(html)?.[1];
  t.ok(version, 'the module is referenced by a versioned URL');

  const files = readdirSync(ASSETS).filter((f) => f !== 'index.html');
  t.ok(files.includes('app.js') && files.includes('admin.css') && files.includes('userDetail.js'));
  for (const file of files) {
    const asset = await app.inject({ url: `/admin/assets/${version}/${file}` });
    t.equal(asset.statusCode, 200, file);
    t.equal(asset.headers['cache-control'], 'public, max-age=31536000, immutable', `${file}: cached for good (its URL changes with it)`);
    expectProtected(t, asset.headers, file);
    t.equal(asset.body, readFileSync(join(ASSETS, file), 'utf8'));
  }
  t.match((await app.inject({ url: `/admin/assets/${version}/app.js` })).headers['content-type'], /^text\/javascript/);
  t.match((await app.inject({ url: `/admin/assets/${version}/admin.css` })).headers['content-type'], /^text\/css/);

  const stale = await app.inject({ url: '/admin/assets/000000000000/app.js' });
  t.equal(stale.statusCode, 200, 'a page from before a deploy still gets its modules');
  t.equal(stale.headers['cache-control'], 'no-cache', '…but not cached under the old version');

  for (const path of ['index.html', 'nothing.js', '..%2F..%2Fpackage.json', '%2E%2E%2FadminPage.ts', 'adminAssets.ts']) {
    const res = await app.inject({ url: `/admin/assets/${version}/${path}` });
    t.equal(res.statusCode, 404, `${path} is not an asset`);
    expectProtected(t, res.headers, `404 for ${path}`);
  }
  t.equal((await app.inject({ url: `/admin/assets/${version}/../../../package.json` })).statusCode, 404);
});

t.test('the page is served only by a process that runs the api service', async (t) => {
  const gatewayOnly = await startTestApp({ JIT_SERVICES: 'gateway,provisioning,projections' });
  t.teardown(gatewayOnly.close);
  t.equal((await gatewayOnly.app.inject({ url: '/admin' })).statusCode, 404);
  const apiOnly = await startTestApp({ JIT_SERVICES: 'api,projections' });
  t.teardown(apiOnly.close);
  t.equal((await apiOnly.app.inject({ url: '/admin' })).statusCode, 200);
  t.equal((await apiOnly.app.inject({ url: '/sso/idps' })).statusCode, 404, 'without the gateway there are no SSO buttons to list');
});

t.test('missing assets (a packaging mistake) answer 503 and are logged, without stopping the process', async (t) => {
  const empty = mkdtempSync(join(tmpdir(), 'jit-admin-assets-'));
  t.teardown(() => rmSync(empty, { recursive: true, force: true }));
  t.equal(loadAdminAssets(empty), undefined);
  const lines: string[] = [];
  const logger = pino({ level: 'error' }, { write: (line: string) => lines.push(line) });
  const app = Fastify();
  await app.register(adminPage({ logger } as unknown as Runtime, { assetsDir: empty }));
  const res = await app.inject({ url: '/admin' });
  t.equal(res.statusCode, 503);
  expectProtected(t, res.headers, 'the 503');
  t.match(lines.join(''), /admin page assets .* are missing/);
  await app.close();
});

t.test('the page code builds the DOM from text, never from markup strings', async (t) => {
  const scripts = readdirSync(ASSETS).filter((f) => f.endsWith('.js'));
  t.ok(scripts.length >= 5);
  for (const file of scripts) {
    const code = readFileSync(join(ASSETS, file), 'utf8');
    t.notMatch(code, /\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function\(|createContextualFragment/, `${file}: no markup sinks`);
    t.notMatch(code, /localStorage|document\.cookie/, `${file}: the token lives in sessionStorage only`);
  }
  const api = readFileSync(join(ASSETS, 'api.js'), 'utf8');
  t.match(api, /sessionStorage/);
  t.match(api, /'x-jit-csrf'\] = '1'/, 'cookie-authorized calls carry the CSRF header');
});
