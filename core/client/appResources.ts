// The web apps a user may reach, as the proxy lists them (`GET /webapi/resources?kind=app`), and the address each
// one is served on (its `public_addr`, else `<name>.<proxy public host>`, on the proxy's port).
import * as v from 'valibot';
import { ApiClient } from '../api/client.ts';
import { type ListedResource, ListedResourceSchema } from '../api/resourceSchemas.ts';
import { ProxyPingSchema } from '../api/webSchemas.ts';
import { NotFound } from '../errors.ts';
import { parseHostPort } from '../net/index.ts';
import { type Profile, profileTexts } from './profile.ts';

/** A web app as the user's listing shows it. */
export type ListedApp = ListedResource;

/** The proxy's web API as the profile's user, trusting the profile's own CAs (an identity file's too). */
export function userProxyApi(p: Profile): ApiClient {
  const t = profileTexts(p);
  return new ApiClient([p.proxy], { ca: t.cas, cert: t.tlsCert, key: t.tlsKey, serverRole: 'proxy' });
}

/** The auth API through the proxy (`/webapi/auth`) as the profile's user: their own roles decide. */
export function userAuthApi(p: Profile): ApiClient {
  const t = profileTexts(p);
  return new ApiClient(
    [p.proxy],
    { ca: t.cas, cert: t.tlsCert, key: t.tlsKey, serverRole: 'proxy' },
    15_000,
    '/webapi/auth',
  );
}

/** The apps the profile's roles let it see, by name. */
export async function listApps(p: Profile): Promise<ListedApp[]> {
  const rows = await userProxyApi(p).send(v.array(ListedResourceSchema), 'GET', '/webapi/resources?kind=app');
  return rows.sort((a, b) => a.name.localeCompare(b.name));
}

/** The app named `name`; NotFound lists the ones the user may reach. */
export async function findApp(p: Profile, name: string): Promise<ListedApp> {
  const all = await listApps(p);
  const app = all.find((a) => a.name === name);
  if (app) return app;
  const known = all.length ? `; your roles let you reach: ${all.map((a) => a.name).join(', ')}` : '';
  throw new NotFound(`no app "${name}" you may reach${known} (tp apps ls lists them)`, { name });
}

/** The proxy's public address (`host:port`) as the proxy itself reports it. */
export async function proxyPublicAddr(p: Profile): Promise<string> {
  const ping = await userProxyApi(p).send(ProxyPingSchema, 'GET', '/webapi/ping');
  return ping.proxy || p.proxy;
}

/**
 * The host (and port) an app is served on: its `public_addr`, else `<name>.<proxy public host>`; either takes the
 * proxy's public port when it names none and that port is not 443 (what the proxy routes by).
 */
export function appPublicAddr(app: Pick<ListedApp, 'name' | 'spec'>, proxyAddr: string): string {
  const [proxyHost, proxyPort] = parseHostPort(proxyAddr);
  const given = typeof app.spec.public_addr === 'string' ? app.spec.public_addr : `${app.name}.${proxyHost}`;
  if (/:\d+$/.test(given) || proxyPort === 443) return given.toLowerCase();
  return `${given}:${proxyPort}`.toLowerCase();
}

/** The app's URL for browsers and curl. */
export const appUrl = (publicAddr: string) => `https://${publicAddr.replace(/:443$/, '')}/`;
