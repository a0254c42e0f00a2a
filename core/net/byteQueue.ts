/**
 * Bytes received but not yet consumed, kept as the chunks they arrived in, so an incremental protocol parser can
 * look at a header and take a whole message without copying the stream once per chunk (a 200 MB COPY arrives in
 * thousands of chunks; concatenating on every push would be quadratic).
 */
export class ByteQueue {
  private chunks: Buffer[] = [];
  private head = 0; // bytes of chunks[0] already consumed
  private total = 0;

  /** Bytes available. */
  get length(): number {
    return this.total;
  }

  /** Appends a chunk (kept by reference: the caller must not reuse it). */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
    this.total += chunk.length;
  }

  /** The byte at `offset` from the front; undefined past the end. */
  byteAt(offset: number): number | undefined {
    if (offset < 0 || offset >= this.total) return undefined;
    let at = offset + this.head;
    for (const c of this.chunks) {
      if (at < c.length) return c[at];
      at -= c.length;
    }
    return undefined;
  }

  /** The first `n` bytes without consuming them; undefined until `n` bytes are there. */
  peek(n: number): Buffer | undefined {
    if (n > this.total) return undefined;
    const first = this.chunks[0];
    if (first && first.length - this.head >= n) return first.subarray(this.head, this.head + n);
    const out = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) out[i] = this.byteAt(i)!;
    return out;
  }

  /** `n` bytes starting `offset` bytes from the front, not consumed; undefined until they are there (meant for headers). */
  peekAt(offset: number, n: number): Buffer | undefined {
    if (offset + n > this.total) return undefined;
    const first = this.chunks[0]!;
    const at = this.head + offset;
    if (at + n <= first.length) return first.subarray(at, at + n);
    const out = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) out[i] = this.byteAt(offset + i)!;
    return out;
  }

  /** Removes and returns the first `n` bytes (a view when they lie in one chunk); undefined until they are there. */
  take(n: number): Buffer | undefined {
    if (n > this.total) return undefined;
    const first = this.chunks[0];
    if (first && first.length - this.head >= n) {
      const out = first.subarray(this.head, this.head + n);
      this.advance(n);
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0]!;
      const piece = c.subarray(this.head, this.head + Math.min(c.length - this.head, n - filled));
      piece.copy(out, filled);
      filled += piece.length;
      this.advance(piece.length);
    }
    return out;
  }

  /** Removes and returns everything buffered. */
  takeAll(): Buffer {
    return this.take(this.total) ?? Buffer.alloc(0);
  }

  private advance(n: number): void {
    this.total -= n;
    this.head += n;
    while (this.chunks.length && this.head >= this.chunks[0]!.length) {
      this.head -= this.chunks[0]!.length;
      this.chunks.shift();
    }
  }
}
