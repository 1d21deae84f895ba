/**
 * Buffers for received instances, each given back once its instance is in the spool and taken
 * again by the next: a fresh 513 KB buffer per instance was external memory that set off a full
 * garbage collection of the main thread's heap every few dozen instances. Keeps a few, of the
 * largest sizes seen.
 */
export class BufferPool {
  private readonly free: Buffer[] = [];

  constructor(private readonly keep = 16, private readonly largest = 64 * 1024 * 1024) {}

  /** A buffer of at least `size` bytes (its contents are not cleared). */
  take(size: number): Buffer {
    const index = this.free.findIndex((b) => b.length >= size);
    if (index >= 0) return this.free.splice(index, 1)[0];
    // rounded up, so that slightly larger instances reuse it too
    return Buffer.allocUnsafeSlow(Math.max(64 * 1024, 2 ** Math.ceil(Math.log2(size))));
  }

  give(buffer: Buffer): void {
    if (buffer.length > this.largest) return;
    if (this.free.length >= this.keep) {
      // keep the larger ones
      const smallest = this.free.reduce((min, b, i) => (b.length < this.free[min].length ? i : min), 0);
      if (this.free[smallest].length >= buffer.length) return;
      this.free.splice(smallest, 1);
    }
    this.free.push(buffer);
  }

  /** Buffers waiting to be reused (tests). */
  get size(): number {
    return this.free.length;
  }
}
