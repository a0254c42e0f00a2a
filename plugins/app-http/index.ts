// The web application plugin: internal HTTP apps reached through the proxy, each request carrying a signed identity
// token (`tp-jwt-assertion`) from the cluster's JWT CA (issue 20). The agent side loads only on agents serving one.
import * as v from 'valibot';
import { definePlugin } from '../../core/plugin/define.ts';
import type { ProxyNames } from '../../core/plugin/types.ts';
import { appPolicy } from '../../core/rbac/appPolicy.ts';

const NAME = /^[a-z0-9][a-z0-9_.-]{0,62}$/;
/** Headers tp sets itself: a rewrite may not name them. */
export const RESERVED_HEADER =
  /^(tp-jwt-assertion|x-forwarded-(for|proto|host)|x-tp-.*|connection|upgrade|transfer-encoding|content-length)$/i;

const Uri = v.pipe(
  v.string(),
  v.check((s) => {
    try {
      const u = new URL(s);
      return (u.protocol === 'http:' || u.protocol === 'https:') && !u.username && !u.password;
    } catch {
      return false;
    }
  }, 'expected http://HOST:PORT or https://HOST:PORT (no user or password in it)'),
);

const HeaderRewrite = v.pipe(
  v.string(),
  v.regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+: ?[^\r\n]*$/, 'a header rewrite is "Name: value"'),
  v.check((s) => !RESERVED_HEADER.test(s.slice(0, s.indexOf(':'))), 'this header is set by tp and cannot be rewritten'),
);

/** One `apps.apps` entry: `{name, uri, public_addr?, labels?, rewrite?: {headers?, redirect?}, insecure_skip_verify?}`. */
export const AppSchema = v.strictObject({
  name: v.pipe(v.string(), v.regex(NAME, 'app names are lowercase letters, digits, "-", "_" or "."')),
  uri: Uri,
  /** The host the proxy serves the app on; default `<name>.<proxy public host>` (the proxy fills it in). */
  public_addr: v.optional(v.pipe(v.string(), v.regex(/^[A-Za-z0-9.-]+(:\d{1,5})?$/, 'expected a host name'))),
  labels: v.optional(v.record(v.string(), v.string()), {}),
  rewrite: v.optional(
    v.strictObject({
      /** `Name: value` lines added to each request; values take trait templates (`{{internal.logins}}`). */
      headers: v.optional(v.array(HeaderRewrite), []),
      /** Hosts whose redirects (`Location`) are rewritten to the public address, besides the app's own. */
      redirect: v.optional(v.array(v.string()), []),
    }),
    {},
  ),
  insecure_skip_verify: v.optional(v.boolean(), false),
});

export type AppEntry = v.InferOutput<typeof AppSchema>;

/** `--app NAME=http://HOST:PORT` as a raw `apps.apps` entry; undefined when VALUE is not of that form. */
export function parseAppFlag(value: string): unknown {
  const m = /^([^=]+)=(https?:\/\/.+)$/.exec(value);
  return m ? { name: m[1], uri: m[2] } : undefined;
}

/**
 * Whether the proxy should hand TLS connections for `serverName` to app-http: the default app hosts
 * `<app>.<proxy public host>` (one label; DNS public hosts only) and the hosts app-http apps name as `public_addr`.
 */
export function ownsServerName(serverName: string, proxy: ProxyNames): boolean {
  const name = serverName.toLowerCase();
  const named = proxy.resources?.('app') ?? [];
  if (named.some((r) => r.plugin === 'app-http' && publicHostOf(r.spec.public_addr) === name)) return true;
  const host = proxy.publicHost.toLowerCase();
  if (!/[a-z]/.test(host) || host.includes(':')) return false;
  const suffix = `.${host}`;
  return name.endsWith(suffix) && /^[a-z0-9][a-z0-9_-]{0,62}$/.test(name.slice(0, -suffix.length));
}

/** The host part of a `public_addr` (`grafana.example.com:443` → `grafana.example.com`), lowercased. */
const publicHostOf = (addr: unknown) =>
  typeof addr === 'string' ? addr.replace(/:\d+$/, '').toLowerCase() : undefined;

export default definePlugin<AppEntry>({
  name: 'app-http',
  kind: 'app',
  alpn: ['tp-app-http'],
  config: AppSchema,
  section: { key: 'apps', list: 'apps' },
  policy: appPolicy,
  flag: { name: 'app', description: 'serve a web app, NAME=http://HOST:PORT (repeatable)', parse: parseAppFlag },
  agent: async (ctx, entries) => (await import('./agent.ts')).startAppAgent(ctx, entries),
  sni: (serverName, proxy) => ownsServerName(serverName, proxy),
  proxy: {
    handle: async (socket, ctx) => (await import('./proxy.ts')).handleAppConnection(socket, ctx),
  },
});
