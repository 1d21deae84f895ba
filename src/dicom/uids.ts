import { keyedDigest } from '../secret/key.js';
import { memoByKey } from './keyedCache.js';

/** UIDs under the DICOM root (SOP classes, transfer syntaxes, coding schemes) identify nobody. */
export function isStandardUid(uid: string): boolean {
  return uid.startsWith('1.2.840.10008.');
}

/**
 * Keyed one-way UID map: the same UID and key give the same `2.25.<decimal>` in every file,
 * run and batch, so references between objects stay valid. 128 bits of HMAC-SHA256 make
 * collisions between distinct inputs negligible (the 2.25 root takes any 128-bit integer).
 */
export function remapUid(secret: Uint8Array, uid: string): string {
  if (uid === '' || isStandardUid(uid)) return uid;
  return memoByKey(secret, 'dicom-uid', uid, () => `2.25.${BigInt(`0x${keyedDigest(secret, 'dicom-uid', uid).subarray(0, 16).toString('hex')}`).toString(10)}`);
}
