import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream';
import { describe, NotFound } from '../errors.ts';
import { log } from '../log.ts';
import { PAGE_HEADERS, RawResponse, RequestMetrics, readJsonBody, StreamResponse, send, sendError } from './json.ts';

/** What a route handler gets: the caller (as the server identifies it), body, path params, query, peer address. */
export interface RouteContext<Who> {
  who: Who;
  body: unknown;
  params: string[];
  query: URLSearchParams;
  remote: string;
  req: IncomingMessage;
  /** The response, for headers a handler adds to any answer (a refused upload closes its connection). */
  res: ServerResponse;
}

/** How a route takes its request: `streamBody` leaves the body unread for the handler to stream from `req`. */
export interface RouteOptions {
  streamBody?: boolean;
}

export type Route<Who> = [
  method: string,
  path: RegExp,
  handler: (ctx: RouteContext<Who>) => Promise<unknown>,
  options?: RouteOptions,
];

/**
 * A JSON API request handler over a route table: 200 with the handler's result, typed errors mapped to statuses
 * in one place, `/healthz` built in. Its request counters (and `gauges`) render as Prometheus text through
 * `renderMetrics`, for a metrics listener of its own: they are never served on the API's port.
 */
export function jsonApi<Who>(
  routes: Route<Who>[],
  opts: { metric: string; who: (req: IncomingMessage) => Who; gauges?: () => Record<string, number> },
) {
  const metrics = new RequestMetrics(opts.metric);
  const renderMetrics = () =>
    metrics.render(Object.entries(opts.gauges?.() ?? {}).flatMap(([k, n]) => [`# TYPE ${k} gauge`, `${k} ${n}`]));
  const handler = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'https://tp');
    if (url.pathname === '/healthz') return send(res, 200, { status: 'ok' });
    let routeName = 'unknown';
    try {
      const match = routes.find(([m, re]) => m === req.method && re.test(url.pathname));
      if (!match) throw new NotFound(`no such API endpoint: ${req.method} ${url.pathname}`);
      routeName = `${match[0]}:${match[1].source.replace(/\\\//g, '/').replace(/[$^]/g, '')}`;
      const params = match[1].exec(url.pathname)!.slice(1).map(decodeURIComponent);
      const body = req.method === 'POST' && !match[3]?.streamBody ? await readJsonBody(req) : undefined;
      const out = await match[2]({
        who: opts.who(req),
        body,
        params,
        query: url.searchParams,
        remote: req.socket.remoteAddress ?? '',
        req,
        res,
      });
      if (out instanceof StreamResponse) {
        metrics.count(routeName, out.status);
        res.writeHead(out.status, { 'cache-control': 'no-store', ...PAGE_HEADERS, ...out.headers });
        pipeline(out.body, res, (err) => {
          if (err) log.debug('streamed answer cut short', { path: url.pathname, error: describe(err) });
        });
        return;
      }
      if (out instanceof RawResponse) {
        metrics.count(routeName, out.status);
        res.writeHead(out.status, {
          'content-type': out.type,
          'cache-control': 'no-store',
          ...PAGE_HEADERS,
          ...out.headers,
        });
        res.end(out.body);
        return;
      }
      metrics.count(routeName, 200);
      send(res, 200, out ?? {});
    } catch (err) {
      metrics.count(routeName, sendError(res, err, url.pathname));
    }
  };
  return Object.assign(handler, { renderMetrics });
}

/** Runs `fn` with a signal that aborts when the caller's connection closes first (for long polls). */
export async function whileConnected<T>(req: IncomingMessage, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const abort = new AbortController();
  const onClose = () => abort.abort();
  req.socket.once('close', onClose);
  try {
    return await fn(abort.signal);
  } finally {
    req.socket.off('close', onClose);
  }
}

/** The query parameter `key` as a number (NaN when it is not one), or undefined when it is absent. */
export function queryNumber(query: URLSearchParams, key: string): number | undefined {
  return query.has(key) ? Number(query.get(key)) : undefined;
}
