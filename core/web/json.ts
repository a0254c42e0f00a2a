import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import * as v from 'valibot';
import { BadParameter, describe, statusOf, TpError } from '../errors.ts';
import { log } from '../log.ts';

export const MAX_BODY = 1 << 20;

/** Parses a body with its schema; schema issues become one clear BadParameter line naming the field. */
export function parseBody<T extends v.GenericSchema>(schema: T, body: unknown): v.InferOutput<T> {
  const r = v.safeParse(schema, body);
  if (r.success) return r.output;
  const issue = r.issues[0];
  const path = issue.path?.map((p: { key: unknown }) => String(p.key)).join('.') ?? '';
  throw new BadParameter(`invalid request${path ? ` field "${path}"` : ''}: ${issue.message}`);
}

/** Reads a JSON request body of at most MAX_BODY bytes; undefined when empty. */
export async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) throw new BadParameter(`request body larger than ${MAX_BODY} bytes`);
    chunks.push(c as Buffer);
  }
  if (size === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (err) {
    throw new BadParameter('request body is not valid JSON', {}, { cause: err });
  }
}

/** Writes a JSON (or plain text) response. */
export function send(res: ServerResponse, status: number, body: unknown, type = 'application/json'): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(type === 'application/json' ? JSON.stringify(body ?? null) : String(body));
}

/** Writes an error as `{error: {code, message}}` with the status its type maps to; internals are not leaked. */
export function sendError(res: ServerResponse, err: unknown, path: string): number {
  const status = statusOf(err);
  if (status >= 500) log.error('request failed', { path, error: describe(err) });
  const code = err instanceof TpError ? err.code : 'internal';
  const message = err instanceof TpError ? err.message : 'internal error (see the server log)';
  send(res, status, { error: { code, message } });
  return status;
}

/** Request counters rendered as Prometheus text. */
export class RequestMetrics {
  private counts = new Map<string, number>();
  constructor(private readonly name: string) {}
  count(route: string, status: number): void {
    const k = `${route} ${status}`;
    this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
  }
  render(extra: string[] = []): string {
    const lines = [`# TYPE ${this.name} counter`];
    for (const [k, n] of this.counts) {
      const [route, status] = k.split(' ');
      lines.push(`${this.name}{route="${route}",status="${status}"} ${n}`);
    }
    return `${[...lines, ...extra].join('\n')}\n`;
  }
}

/** A non-JSON response (a page or an asset) a route may return; served with the security headers every page gets. */
export class RawResponse {
  constructor(
    readonly body: string,
    readonly type: string,
    readonly headers: Record<string, string | string[]> = {},
    readonly status = 200,
  ) {}
}

/**
 * A streamed answer a route may return (a file download): the router sends the headers, pipes `body`, and cuts the
 * connection if the stream fails half way (the client then sees a truncated transfer, never a wrong one).
 */
export class StreamResponse {
  constructor(
    readonly body: Readable,
    readonly headers: Record<string, string | number>,
    readonly status = 200,
  ) {}
}

/** Headers on every page: no framing, no sniffing, no referrer (invite tokens are in URLs), scripts only from here. */
export const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};
