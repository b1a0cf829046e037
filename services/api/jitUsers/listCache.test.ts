import t from 'tap';
import { createListCache, type RenderedList } from './listCache.js';

const MiB = 1024 * 1024;
const page = (text: string): RenderedList => ({ body: Buffer.from(text, 'utf8'), headers: { 'x-total-count': '1' } });
const sized = (bytes: number): RenderedList => ({ body: Buffer.alloc(bytes, 0x61), headers: {} });

t.test('answers the same bytes and headers for the same key and version only', async (t) => {
  const cache = createListCache();
  const rendered = page('[{"username":"alice"}]');
  t.equal(cache.get('k', 'v1'), undefined);
  cache.set('k', 'v1', rendered);
  t.equal(cache.get('k', 'v1'), rendered);
  t.ok(Buffer.isBuffer(cache.get('k', 'v1')?.body));
  t.equal(cache.get('other', 'v1'), undefined);
  t.equal(cache.get('k', 'v2'), undefined, 'another version: a miss');
  t.equal(cache.get('k', 'v1'), undefined, 'and the entry of the old version is gone');
  cache.set('k', 'v2', page('[]'));
  cache.set('k', 'v3', page('[1]'));
  t.equal(cache.get('k', 'v3')?.body.toString(), '[1]', 'setting a key again replaces its entry');
  t.equal(cache.get('k', 'v2'), undefined);
});

t.test('keeps at most 128 entries, dropping the least recently used', async (t) => {
  const cache = createListCache();
  for (let i = 0; i < 128; i++) cache.set(`k${i}`, 'v', page(`${i}`));
  t.ok(cache.get('k0', 'v'), 'using k0 makes k1 the least recently used');
  cache.set('k128', 'v', page('128'));
  t.equal(cache.get('k1', 'v'), undefined, 'k1 was dropped');
  t.ok(cache.get('k0', 'v'));
  t.ok(cache.get('k2', 'v'));
  t.ok(cache.get('k128', 'v'));
  cache.set('k129', 'v', page('129'));
  t.equal(cache.get('k3', 'v'), undefined, 'then k3 (k0 and k2 were used since)');
  for (const i of [0, 2, 4, 127, 128, 129]) t.ok(cache.get(`k${i}`, 'v'), `k${i} is kept`);
});

t.test('bounds the bytes it holds, and never holds a body over a quarter of the bound', async (t) => {
  const cache = createListCache();
  cache.set('huge', 'v', sized(8 * MiB + 1));
  t.equal(cache.get('huge', 'v'), undefined, 'over 8 MiB: not kept');
  for (let i = 0; i < 4; i++) cache.set(`big${i}`, 'v', sized(8 * MiB));
  for (let i = 0; i < 4; i++) t.ok(cache.get(`big${i}`, 'v'), `big${i}: 32 MiB in all fit`);
  cache.set('small', 'v', page('x'));
  t.equal(cache.get('big0', 'v'), undefined, 'one byte more: the least recently used goes');
  for (const key of ['big1', 'big2', 'big3', 'small']) t.ok(cache.get(key, 'v'), `${key} is kept`);
  // Counted in bytes, not characters: 4 Mi three-byte characters are 12 MiB.
  cache.set('wide', 'v', page('€'.repeat(4 * MiB)));
  t.equal(cache.get('wide', 'v'), undefined, '12 MiB of UTF-8: over a quarter of the bound');
  // A replaced or stale entry gives its bytes back.
  cache.set('big1', 'v2', sized(8 * MiB));
  t.equal(cache.get('big2', 'v2'), undefined, 'big2 at another version: dropped');
  cache.set('other', 'v', sized(8 * MiB));
  for (const key of ['big3', 'small', 'other']) t.ok(cache.get(key, 'v'), `${key} is kept`);
  t.ok(cache.get('big1', 'v2'));
});
