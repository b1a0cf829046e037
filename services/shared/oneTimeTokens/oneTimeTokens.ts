/**
 * One-time tokens shared by every instance through the database: the SSO gateway's outstanding
 * request ids (SAML InResponseTo, OIDC state) and its replay cache of assertion/token ids.
 */
export type TokenKey = Readonly<{ scope: string; key: string }>;

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
  /**
   * In one transaction: consumes `consume` and, only when that succeeded, remembers `remember`
   * (same rules as `remember`). Answers the consumed value (undefined: nothing consumed, nothing
   * remembered) and whether the remembered key was fresh. One commit instead of two: the SAML ACS
   * consumes the request it answers and records the assertion id together.
   */
  consumeAndRemember(consume: TokenKey, remember: TokenKey & { expiresAt: Date; value?: string }): Promise<{ value: string | undefined; remembered: boolean }>;
  /** Deletes expired keys; answers how many. */
  purgeExpired(): Promise<number>;
}
