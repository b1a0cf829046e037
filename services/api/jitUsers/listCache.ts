/**
 * Rendered answers of GET /jit-users, kept per version of the read model (ReadModel.version): an
 * unchanged model answers a repeated query with the same bytes, without querying or serializing
 * again. Any applied batch or replay changes the version, so nothing stale is ever served.
 */
export type RenderedList = Readonly<{ body: Buffer; headers: Readonly<Record<string, string>> }>;

/** Bounds the memory the cache holds (bytes of bodies). */
const MAX_CHARS = 32 * 1024 * 1024;
const MAX_ENTRIES = 128;

export type ListCache = {
  get(key: string, version: string): RenderedList | undefined;
  set(key: string, version: string, rendered: RenderedList): void;
};

export function createListCache(): ListCache {
  const entries = new Map<string, { version: string; rendered: RenderedList }>();
  let chars = 0;
  const remove = (key: string) => {
    const entry = entries.get(key);
    if (!entry) return;
    chars -= entry.rendered.body.length;
    entries.delete(key);
  };
  return {
    get(key, version) {
      const entry = entries.get(key);
      if (!entry) return undefined;
      if (entry.version !== version) {
        remove(key);
        return undefined;
      }
      // Least recently used goes first: re-insert on use.
      entries.delete(key);
      entries.set(key, entry);
      return entry.rendered;
    },
    set(key, version, rendered) {
      if (rendered.body.length > MAX_CHARS / 4) return;
      remove(key);
      entries.set(key, { version, rendered });
      chars += rendered.body.length;
      for (const oldest of entries.keys()) {
        if (chars <= MAX_CHARS && entries.size <= MAX_ENTRIES) break;
        remove(oldest);
      }
    },
  };
}
