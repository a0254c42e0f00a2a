/** Anything the session can run over: a TLS or TCP socket, or a test pipe. */
export interface ByteStream {
  write(data: Uint8Array): boolean;
  on(event: 'data', fn: (d: Buffer) => void): unknown;
  on(event: 'close' | 'drain', fn: () => void): unknown;
  once(event: 'drain', fn: () => void): unknown;
  destroy(): void;
  /** Bytes written but not yet handed to the kernel, when the stream can tell. */
  readonly writableLength?: number;
}
