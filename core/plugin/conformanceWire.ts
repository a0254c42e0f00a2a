// The conformance suite's wire and wait helpers (core/plugin/conformance.ts): mutual TLS on an ALPN id, the default
// framing's one-line exchange, and bounded waits that fail as a ConformanceFailure naming what was awaited.
import type { Duplex } from 'node:stream';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import * as v from 'valibot';
import { TpError } from '../errors.ts';
import { parseHostPort } from '../net/index.ts';
import { readHeader, writeHeader } from '../tunnel/header.ts';

/** TLS client credentials (PEM). */
export interface TlsCreds {
  cert: string;
  key: string;
}

/** A check that did not hold, with what was seen. */
export class ConformanceFailure extends TpError {}

const AnswerSchema = v.looseObject({
  ok: v.boolean(),
  error: v.optional(v.object({ code: v.string(), message: v.string() })),
});
/** The proxy's (or the agent's) answer in the default framing's terms: `{ok}` or the refusal's code and message. */
export type ConformanceAnswer = v.InferOutput<typeof AnswerSchema>;

/** Opens mutual TLS to `addr` on one ALPN id (no client certificate when `creds` is absent). */
export function openTls(addr: string, alpn: string, ca: string[], creds?: TlsCreds): Promise<TLSSocket> {
  const [host, port] = parseHostPort(addr);
  const sock = tlsConnect({
    host,
    port,
    ca,
    ...creds,
    ALPNProtocols: [alpn],
    // Agents and proxies name their host ID or cluster, not the loopback address dialled here.
    checkServerIdentity: () => undefined,
  });
  return new Promise((resolve, reject) => {
    sock.once('secureConnect', () => resolve(sock));
    sock.once('error', reject);
  });
}

/** Sends one header line and reads the one answer line. */
export async function ask(sock: TLSSocket, header: unknown): Promise<ConformanceAnswer> {
  writeHeader(sock, header);
  return readHeader(sock, AnswerSchema, 64 * 1024, 10_000);
}

/** Resolves once `sock` has closed; rejects after `ms`. */
export function closedWithin(sock: Duplex, ms: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (sock.destroyed) return resolve();
    const timer = setTimeout(() => reject(new ConformanceFailure(`${what}: still open after ${ms} ms`)), ms);
    sock.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    sock.resume();
  });
}

/** Polls until `cond` holds (every 50 ms, at most `ms`). */
export async function until(what: string, cond: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new ConformanceFailure(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Throws unless `a` is a refusal of class `code`. */
export function expectRefused(a: ConformanceAnswer, code: string, what: string): void {
  if (a.ok || a.error?.code !== code)
    throw new ConformanceFailure(`${what}: expected a refusal "${code}", got ${JSON.stringify(a)}`);
}
