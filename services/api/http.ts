/** Small HTTP helpers shared by routes. */

/** The first of `offered` that the Accept header allows, by q-value then order; undefined for 406. */
export function preferredType(accept: string | undefined, offered: readonly string[]): string | undefined {
  if (!accept || accept.trim() === '') return offered[0];
  const ranges = accept
    .split(',')
    .map((part, index) => {
      const [range = '', ...params] = part.trim().split(';');
      const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
      const quality = q ? Number(q.slice(2)) : 1;
      return { range: range.trim().toLowerCase(), quality: Number.isFinite(quality) ? quality : 0, index };
    })
    .filter((r) => r.quality > 0);
  let best: { type: string; quality: number; rank: number } | undefined;
  offered.forEach((type, rank) => {
    const [major] = type.split('/');
    const match = ranges
      .filter((r) => r.range === type || r.range === `${major}/*` || r.range === '*/*')
      .sort((a, b) => specificity(b.range) - specificity(a.range))[0];
    if (match && (!best || match.quality > best.quality || (match.quality === best.quality && rank < best.rank))) {
      best = { type, quality: match.quality, rank };
    }
  });
  return best?.type;
}

function specificity(range: string): number {
  return range === '*/*' ? 0 : range.endsWith('/*') ? 1 : 2;
}
