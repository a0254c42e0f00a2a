// App certificates on the client (`tp apps login`, `tp proxy app`, `tp bot start --app`): asked from auth through
// the proxy for a fresh key made here, and kept as `tls.crt`, `tls.key`, `ca.crt` (0600) in a directory per app.
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ApiClient } from '../api/client.ts';
import { AppCertSchema } from '../api/schemas.ts';
import { type AppRoute, appRouteFromCert } from '../auth/appCert.ts';
import { generateKeyPair } from '../crypto/keys.ts';
import { pemBundle } from '../crypto/pem.ts';
import { BadParameter, NotFound, Unauthenticated } from '../errors.ts';
import { type Profile, profileKeysDir } from './profile.ts';

/** An app certificate with its key and the CAs that sign the proxy's certificate on the app's host (PEM). */
export interface AppCredentials {
  cert: string;
  key: string;
  ca: string;
  route: AppRoute;
  /** Epoch ms. */
  expires: number;
}

/** The files of one app's credentials. */
export interface AppCertFiles {
  dir: string;
  cert: string;
  key: string;
  ca: string;
}

/**
 * Asks auth (through `api`, the proxy's `/webapi/auth` as the user) for an app certificate for a key made here,
 * served on `publicAddr`; `ttlMs` shortens it (it never outlives the user's own certificate).
 */
export async function requestAppCert(
  api: ApiClient,
  app: string,
  publicAddr: string,
  ttlMs?: number,
): Promise<AppCredentials> {
  const k = generateKeyPair('p256');
  const body = {
    app,
    publicAddr,
    tlsPublicKey: k.publicKey.export({ type: 'spki', format: 'pem' }) as string,
    ...(ttlMs ? { ttlMs } : {}),
  };
  const r = await api.send(AppCertSchema, 'POST', '/v1/apps/cert', body);
  return {
    cert: r.cert,
    key: k.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    ca: pemBundle(r.ca),
    route: { app: r.app, publicAddr: r.publicAddr },
    expires: Date.parse(r.expires),
  };
}

/** The files of app `name`'s credentials under `base` (`<base>/<name>/tls.crt` ...). */
export function appCertFiles(base: string, name: string): AppCertFiles {
  if (!/^[a-z0-9][a-z0-9_.-]{0,62}$/.test(name) || name.includes('..'))
    throw new BadParameter(`"${name}" is not an app name`);
  const dir = join(base, name);
  return { dir, cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key'), ca: join(dir, 'ca.crt') };
}

/** Where a profile keeps its app credentials (removed with the profile by `tp logout`). */
export const profileAppsDir = (p: Profile) => join(profileKeysDir(p.proxy), 'app');

/** Writes the credentials, each file 0600 and replaced whole (a reader never sees half a certificate). */
export function writeAppCert(f: AppCertFiles, c: AppCredentials): void {
  mkdirSync(f.dir, { recursive: true, mode: 0o700 });
  const put = (path: string, text: string) => {
    writeFileSync(`${path}.tmp`, text, { mode: 0o600 });
    renameSync(`${path}.tmp`, path);
  };
  // The key first: a certificate on disk always has its key beside it.
  put(f.key, c.key);
  put(f.cert, c.cert);
  put(f.ca, c.ca);
}

/** The credentials stored in `f`; NotFound (with what to run) when there are none. */
export function readAppCert(f: AppCertFiles, name: string): AppCredentials {
  if (!existsSync(f.cert) || !existsSync(f.key))
    throw new NotFound(`not logged in to app "${name}": run \`tp apps login ${name}\``, { name });
  const cert = readFileSync(f.cert, 'utf8');
  const x = new X509Certificate(cert);
  const route = appRouteFromCert(x.raw);
  if (!route || route.app !== name)
    throw new BadParameter(`${f.cert} is not an app certificate for "${name}": run \`tp apps login ${name}\``);
  return {
    cert,
    key: readFileSync(f.key, 'utf8'),
    ca: readFileSync(f.ca, 'utf8'),
    route,
    expires: Date.parse(x.validTo),
  };
}

/** Like readAppCert, but Unauthenticated (with what to run) once it has expired. */
export function readValidAppCert(f: AppCertFiles, name: string, now = Date.now()): AppCredentials {
  const c = readAppCert(f, name);
  if (c.expires <= now)
    throw new Unauthenticated(
      `the certificate for app "${name}" expired at ${new Date(c.expires).toISOString()}: run \`tp apps login ${name}\``,
    );
  return c;
}

/** The apps with credentials under `base`. */
export function storedApps(base: string): string[] {
  if (!existsSync(base)) return [];
  return readdirSync(base, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(base, d.name, 'tls.crt')))
    .map((d) => d.name)
    .sort();
}

/** Removes app `name`'s credentials; false when there were none. */
export function removeAppCert(base: string, name: string): boolean {
  const f = appCertFiles(base, name);
  if (!existsSync(f.dir)) return false;
  rmSync(f.dir, { recursive: true, force: true });
  return true;
}

/** The curl command line that reaches the app with the credentials in `f`. */
export function curlLine(f: AppCertFiles, url: string): string {
  const q = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`);
  return `curl --cert ${q(f.cert)} --key ${q(f.key)} --cacert ${q(f.ca)} ${q(url)}`;
}
