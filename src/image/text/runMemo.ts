import { createHash } from 'node:crypto';

/**
 * What a model answered for an exact input tensor, kept so that the same tensor is not run
 * twice. A cine's fixed text bands, a verification pass re-reading lines it did not touch
 * and a checker reading what the cleaner read all feed the models byte-identical tensors
 * again; onnxruntime on the CPU with one intra-op thread gives the same output for the same
 * input, so the answer kept is the answer the model would give (outputs stay byte for byte).
 *
 * The key is a SHA-1 of the tensor's bytes and its shape (a collision would need two
 * different tensors to hash alike). Least recently used entries go first once `maxBytes`
 * is passed; the caller says what an entry weighs.
 */
export class RunMemo<T> {
  private readonly entries = new Map<string, { value: T; bytes: number }>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  get(key: string): T | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    // most recently used last
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  set(key: string, value: T, bytes: number): void {
    if (bytes > this.maxBytes) return;
    const old = this.entries.get(key);
    if (old) {
      this.bytes -= old.bytes;
      this.entries.delete(key);
    }
    this.entries.set(key, { value, bytes });
    this.bytes += bytes;
    for (const [oldest, entry] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= entry.bytes;
    }
  }

  get size(): number {
    return this.entries.size;
  }
}

/** The memo key of a float32 input tensor: its shape and a hash of its bytes. */
export function tensorKey(data: Float32Array, dims: readonly number[]): string {
  return `${dims.join('x')}:${createHash('sha1').update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)).digest('base64')}`;
}

/**
 * The memo of one kind of answer for a model session, made on first use: sessions are shared
 * by the engines of a thread (session.ts), so every engine reuses what another already asked.
 */
export function memoOf<T>(memos: WeakMap<object, RunMemo<T>>, session: object, maxBytes: number): RunMemo<T> {
  let memo = memos.get(session);
  if (!memo) memos.set(session, (memo = new RunMemo<T>(maxBytes)));
  return memo;
}
