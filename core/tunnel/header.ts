import type { Duplex } from 'node:stream';
import { BadParameter } from '../errors.ts';

/** Writes one JSON line: the small header that precedes raw bytes on relay and tunnel streams. */
export function writeHeader(stream: Duplex, header: unknown): void {
  stream.write(`${JSON.stringify(header)}\n`);
}

/**
 * Reads one JSON line (at most `limit` bytes) from a stream and leaves every later byte unread on the stream.
 * Rejects with BadParameter on oversize or non-JSON input, and when the stream ends first.
 */
export function readHeader<T>(stream: Duplex, limit = 8192, timeoutMs = 15_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const done = (err?: Error, value?: T) => {
      clearTimeout(timer);
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('close', onEnd);
      if (err) reject(err);
      else resolve(value as T);
    };
    const timer = setTimeout(() => done(new BadParameter('timed out waiting for the stream header')), timeoutMs);
    const onEnd = () => done(new BadParameter('stream ended before its header'));
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const nl = buf.indexOf(10);
      if (nl < 0) {
        if (buf.length > limit) done(new BadParameter(`stream header longer than ${limit} bytes`));
        return;
      }
      stream.pause();
      const rest = buf.subarray(nl + 1);
      if (rest.length) stream.unshift(rest);
      try {
        done(undefined, JSON.parse(buf.subarray(0, nl).toString('utf8')) as T);
      } catch (err) {
        done(new BadParameter('stream header is not JSON', {}, { cause: err }));
      }
    };
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('close', onEnd);
  });
}

/** Header the proxy sends to an agent on each stream it opens. */
export interface AgentStreamHeader {
  v: 1;
  service: 'ssh';
  /** The end user's address, for source-address checks and audit. */
  client: string;
  user?: string;
}

/** Header a client sends on a tp-ssh relay connection, and the proxy's answer. */
export interface RelayRequest {
  v: 1;
  node: string;
  login: string;
  port?: number;
}

export type RelayAnswer =
  | {
      ok: true;
      hostId: string;
      name: string;
      /** The cluster's current host and TLS CAs: clients refresh their trust from them (CA rotation). */
      hostCa?: string[];
      tlsCa?: string[];
    }
  | { ok: false; error: { code: string; message: string } };
