/**
 * One-time tokens shared by every instance through the database: the SSO gateway's outstanding
 * request ids (SAML InResponseTo, OIDC state) and its replay cache of assertion/token ids.
 */
export interface OneTimeTokens {
  /**
   * Records `key` (with an optional small value) under `scope` until `expiresAt`. Answers false,
   * changing nothing, when the key is already recorded and not expired: that is a replay.
   */
  remember(scope: string, key: string, expiresAt: Date, value?: string): Promise<boolean>;
  /** The value of an unexpired key, or undefined. */
  peek(scope: string, key: string): Promise<string | undefined>;
  /** Removes the key; answers its value when it was recorded and unexpired (exactly one caller wins). */
  consume(scope: string, key: string): Promise<string | undefined>;
  /** Deletes expired keys; answers how many. */
  purgeExpired(): Promise<number>;
}
