import type { IdpStored } from '../../../schemas/types.gen.js';

/** Read access to the current IdP configurations (kept current from the IdP streams). */
export interface IdpDirectory {
  get(id: string): IdpStored | undefined;
  list(): IdpStored[];
  /** Resolves once every IdP event up to this position is reflected. */
  waitFor(position: number): Promise<void>;
}
