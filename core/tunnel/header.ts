import type { Duplex } from 'node:stream';
import * as v from 'valibot';
import { BadParameter } from '../errors.ts';

/** Writes one JSON line: the small header that precedes raw bytes on relay and tunnel streams. */
export function writeHeader(stream: Duplex, header: unknown): void {
  stream.write(`${JSON.stringify(header)}\n`);
}

/**
 * Reads one JSON line (at most `limit` bytes) from a stream, checked against `schema`, and leaves every later byte
 * unread on the stream. Rejects with BadParameter on oversize, non-JSON or off-schema input, and when the stream
 * ends first.
 */
export function readHeader<S extends v.GenericSchema>(
  stream: Duplex,
  schema: S,
  limit = 8192,
  timeoutMs = 15_000,
): Promise<v.InferOutput<S>> {
  type T = v.InferOutput<S>;
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
      let json: unknown;
      try {
        json = JSON.parse(buf.subarray(0, nl).toString('utf8'));
      } catch (err) {
        done(new BadParameter('stream header is not JSON', {}, { cause: err }));
        return;
      }
      const r = v.safeParse(schema, json);
      if (r.success) done(undefined, r.output);
      else {
        const path = r.issues[0].path?.map((p: { key: unknown }) => String(p.key)).join('.') ?? '';
        done(new BadParameter(`bad stream header${path ? ` field "${path}"` : ''}: ${r.issues[0].message}`));
      }
    };
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('close', onEnd);
  });
}

/** Header the proxy sends to an agent on each stream it opens. */
export const AgentStreamHeaderSchema = v.object({
  v: v.literal(1),
  /** The plugin that serves the stream (`ssh`, `db-postgres` ...): the agent hands the stream to it. */
  service: v.pipe(v.string(), v.regex(/^[a-z][a-z0-9-]{0,31}$/, 'not a plugin name')),
  /** The end user's address, for source-address checks and audit. */
  client: v.string(),
  user: v.optional(v.string()),
  /** The ID the connection's first session takes (the web terminal's), so the proxy can show it for support. */
  sessionId: v.optional(v.pipe(v.string(), v.uuid())),
  /** The resource asked for (one the agent heartbeats); plugins that serve several need it. */
  resource: v.optional(v.pipe(v.string(), v.maxLength(256))),
  /** Protocol fields the client sent (db user, db name ...), passed on untrusted. */
  route: v.optional(v.record(v.pipe(v.string(), v.maxLength(64)), v.pipe(v.string(), v.maxLength(1024)))),
  /** The end user's TLS client certificate (base64 DER) as the proxy verified it; the agent verifies it again. */
  cert: v.optional(v.pipe(v.string(), v.maxLength(16_384))),
});
export type AgentStreamHeader = v.InferOutput<typeof AgentStreamHeaderSchema>;

/** Header a client sends on a tp-ssh relay connection. */
export const RelayRequestSchema = v.object({
  v: v.literal(1),
  node: v.string(),
  login: v.string(),
  port: v.optional(v.number()),
});
export type RelayRequest = v.InferOutput<typeof RelayRequestSchema>;

/** The proxy's answer to a relay request: the node reached, or the refusal as a wire error. */
export const RelayAnswerSchema = v.variant('ok', [
  v.object({
    ok: v.literal(true),
    hostId: v.string(),
    name: v.string(),
    /** The cluster's current host and TLS CAs: clients refresh their trust from them (CA rotation). */
    hostCa: v.optional(v.array(v.string())),
    tlsCa: v.optional(v.array(v.string())),
  }),
  v.object({ ok: v.literal(false), error: v.object({ code: v.string(), message: v.string() }) }),
]);
export type RelayAnswer = v.InferOutput<typeof RelayAnswerSchema>;

/**
 * The agent's first line on a stream for a plugin that is not end to end: it took the stream (protocol bytes
 * follow), or why not (the stream ends after it).
 */
export const AgentAckSchema = v.variant('ok', [
  v.object({ ok: v.literal(true) }),
  v.object({ ok: v.literal(false), error: v.object({ code: v.string(), message: v.string() }) }),
]);
export type AgentAck = v.InferOutput<typeof AgentAckSchema>;
