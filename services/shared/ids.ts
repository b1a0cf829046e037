import { createHash, randomUUID } from 'node:crypto';

/** Namespace of user ids (a fixed random UUID: changing it would re-key every user). */
const USER_ID_NAMESPACE = 'b7f0a1d2-3c4e-4f5a-8b6c-7d8e9f0a1b2c';

/** RFC 9562 UUID version 5 (SHA-1, name-based). */
export function uuidV5(name: string, namespace: string): string {
  const ns = Buffer.from(namespace.replaceAll('-', ''), 'hex');
  const hash = createHash('sha1').update(ns).update(name, 'utf8').digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The user id of an identity: deterministic, so two gateways racing on a first login target the
 * same stream and optimistic concurrency lets exactly one UserProvisioned through.
 */
export function userIdOf(idpId: string, subject: string): string {
  return uuidV5(`${idpId}\n${subject}`, USER_ID_NAMESPACE);
}

export function identityKey(idpId: string, subject: string): string {
  return `${idpId}\n${subject}`;
}

export const newId: () => string = randomUUID;
