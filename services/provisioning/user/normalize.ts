/**
 * Identity rules for names. Usernames are unique case-insensitively after Unicode NFKC and trimming;
 * group names compare the same way. The key is what uniqueness and comparison use; the display
 * spelling is kept as the IdP (or the first grant) sent it.
 */

/** The spelling stored for a username: NFKC, trimmed. */
export function normalizeUsername(raw: string): string {
  return raw.normalize('NFKC').trim();
}

/** What two usernames must share to be the same user: NFKC, trimmed, lower-cased. */
export function usernameKey(raw: string): string {
  return normalizeUsername(raw).toLowerCase();
}

export function normalizeGroupName(raw: string): string {
  return raw.normalize('NFKC').trim();
}

/**
 * What two group names must share to be the same group: NFKC, trimmed, lower-cased — repeated
 * until nothing changes, because lower-casing can make new NFKC compositions ("H\u0331" lowers to
 * "h\u0331", which composes to "ẖ") and NFKC can make capitals ("㎁" is "nA"). The key of a key is
 * the key itself, so code may look memberships up by either.
 */
export function groupKey(raw: string): string {
  let key = normalizeGroupName(raw).toLowerCase();
  // Converges in one or two rounds for any text; the bound only guards against the unforeseen.
  for (let round = 0; round < 8; round++) {
    const next = normalizeGroupName(key).toLowerCase();
    if (next === key) return key;
    key = next;
  }
  return key;
}

/** Problems with a normalized username, or undefined when it is acceptable. */
export function usernameProblem(username: string): string | undefined {
  if (username.length === 0) return 'the mapped username is empty';
  if (username.length > 255) return 'the mapped username is longer than 255 characters';
  if (/\p{Cc}|\p{Cf}|\p{Zl}|\p{Zp}/u.test(username)) return 'the mapped username contains control or invisible characters';
  if (/\p{Surrogate}/u.test(username)) return 'the mapped username is not well-formed Unicode (a lone surrogate)';
  return undefined;
}

/** Deduplicates group names by key, keeping the first spelling and the input order. */
export function uniqueGroups(names: Iterable<string>): string[] {
  const seen = new Map<string, string>();
  for (const raw of names) {
    const name = normalizeGroupName(raw);
    if (name.length === 0) continue;
    const key = groupKey(name);
    if (!seen.has(key)) seen.set(key, name);
  }
  return [...seen.values()];
}
