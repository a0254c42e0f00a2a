// What tp changes in an app's requests and answers: the client's forged identity headers out, the signed token and
// forwarding headers in, the configured header rewrites (trait templates), and redirects to the public address.
import type { Traits } from '../../core/rbac/index.ts';
import type { Head } from './http1.ts';

/** Headers a client may not send to an app: tp's identity token and anything a proxy would vouch for. */
const FORGEABLE = /^(tp-jwt-assertion|x-forwarded-.*|x-tp-.*|forwarded|x-real-ip)$/i;
const TEMPLATE = /\{\{\s*(internal|external)\.([A-Za-z0-9_.-]+)\s*\}\}/g;

/** What the rewrite of one request needs. */
export interface RequestContext {
  token: string;
  /** The app's upstream `host[:port]`, sent as Host. */
  upstreamHost: string;
  publicAddr?: string;
  clientAddr: string;
  traits: Traits;
  /** `Name: value` lines from the app's `rewrite.headers`. */
  rewrites: string[];
}

/**
 * Expands `{{internal.x}}` / `{{external.x}}` in a header value from the user's traits (several values joined with
 * ", "); undefined when a trait the value names is empty (the header is then left out).
 */
export function expandHeaderValue(value: string, traits: Traits): string | undefined {
  let missing = false;
  const out = value.replace(TEMPLATE, (_, _ns: string, name: string) => {
    const vals = traits[name] ?? [];
    if (vals.length === 0) missing = true;
    return vals.join(', ');
  });
  return missing || /[\r\n]/.test(out) ? undefined : out;
}

/** The request head as the app gets it. */
export function rewriteRequest(h: Head, c: RequestContext): Head {
  const rewritten = new Map<string, [string, string]>();
  for (const line of c.rewrites) {
    const i = line.indexOf(':');
    const name = line.slice(0, i).trim();
    const value = expandHeaderValue(line.slice(i + 1).trim(), c.traits);
    if (value !== undefined) rewritten.set(name.toLowerCase(), [name, value]);
  }
  const kept = h.headers.filter(([k]) => !FORGEABLE.test(k) && !rewritten.has(k.toLowerCase()));
  const headers = kept.map(([k, v]): [string, string] => (k.toLowerCase() === 'host' ? [k, c.upstreamHost] : [k, v]));
  if (!headers.some(([k]) => k.toLowerCase() === 'host')) headers.unshift(['Host', c.upstreamHost]);
  const original = h.headers.find(([k]) => k.toLowerCase() === 'host')?.[1];
  headers.push(['X-Forwarded-For', c.clientAddr.replace(/:\d+$/, '')], ['X-Forwarded-Proto', 'https']);
  const fwdHost = c.publicAddr ?? original;
  if (fwdHost) headers.push(['X-Forwarded-Host', fwdHost]);
  headers.push(...rewritten.values(), ['tp-jwt-assertion', c.token]);
  return { start: h.start, headers };
}

/**
 * Rewrites an absolute `Location` pointing at the app's own address (or one of `hosts`) to its public address over
 * https; relative redirects and other hosts stay as they are.
 */
export function rewriteLocation(h: Head, upstream: URL, hosts: string[], publicAddr: string | undefined): Head {
  if (!publicAddr) return h;
  const headers = h.headers.map(([k, v]): [string, string] => {
    if (k.toLowerCase() !== 'location') return [k, v];
    let u: URL;
    try {
      u = new URL(v);
    } catch {
      return [k, v];
    }
    const internal = u.host === upstream.host || hosts.includes(u.hostname) || hosts.includes(u.host);
    return internal ? [k, `https://${publicAddr}${u.pathname}${u.search}${u.hash}`] : [k, v];
  });
  return { start: h.start, headers };
}
