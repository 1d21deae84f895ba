/**
 * Per-key memo of keyed digests. A run maps the same study, series, frame-of-reference and
 * referenced UIDs, patient keys and pseudonymized values in every file of a series: an HMAC
 * per occurrence was a sizeable part of the per-file cost. Results only depend on (key,
 * purpose, value), so a memo cannot change an output. Bounded: cleared when full, so a run of
 * millions of distinct UIDs keeps a small footprint. Lives as long as the key object (one run's
 * worker settings), in the thread that processes the files.
 */
const MAX_ENTRIES = 20_000;

const memos = new WeakMap<Uint8Array, Map<string, unknown>>();

export function memoByKey<T>(key: Uint8Array, purpose: string, value: string, compute: () => T): T {
  let memo = memos.get(key);
  if (!memo) {
    memo = new Map();
    memos.set(key, memo);
  }
  const id = `${purpose}\0${value}`;
  const known = memo.get(id);
  if (known !== undefined) return known as T;
  const computed = compute();
  if (memo.size >= MAX_ENTRIES) memo.clear();
  memo.set(id, computed);
  return computed;
}
