import { accessSync, constants, existsSync } from 'node:fs';
import { join } from 'node:path';
import { AuthClient } from '../../core/api/authClient.ts';
import { ApiClient, loadAdminIdentity } from '../../core/api/client.ts';
import { loadProfile, profileTexts } from '../../core/client/profile.ts';
import { parseDuration } from '../../core/clock.ts';
import { defaultDataDir } from '../../core/config/defaults.ts';
import { BadParameter, describe } from '../../core/errors.ts';
import { AdminApiClient } from './adminApi.ts';

/** Flags every admin command shares. */
export const adminArgs = {
  'data-dir': {
    type: 'string',
    description:
      'Auth data dir with the local admin identity (env TP_DATA_DIR); without one, your tp login profile is used',
  },
  'auth-server': {
    type: 'string',
    description: 'Auth server address(es), comma-separated host:port (env TP_AUTH_SERVER)',
  },
} as const;

export { formatArg } from './output.ts';

/**
 * The admin API client: the local admin identity when a data dir is given (--data-dir, TP_DATA_DIR) or the default
 * one holds it; otherwise the logged-in user's profile, through the proxy, where the user's roles decide.
 */
export function adminClient(args: { 'data-dir'?: string; 'auth-server'?: string }): ApiClient {
  const explicit = args['data-dir'] || process.env.TP_DATA_DIR || undefined;
  const dataDir = explicit ?? defaultDataDir();
  if (!explicit && !existsSync(join(dataDir, 'admin', 'tls.crt'))) {
    const profile = loadProfile();
    if (profile && profile.expires > Date.now()) {
      const t = profileTexts(profile);
      return new ApiClient(
        [profile.proxy],
        {
          ca: t.cas,
          cert: t.tlsCert,
          key: t.tlsKey,
          serverRole: 'proxy',
        },
        15_000,
        '/webapi/auth',
      );
    }
  }
  const identity = loadAdminIdentity(dataDir);
  const list = args['auth-server'] ?? process.env.TP_AUTH_SERVER;
  const source = args['auth-server']
    ? '--auth-server'
    : list
      ? 'TP_AUTH_SERVER'
      : join(dataDir, 'admin', 'auth_servers');
  const servers = list ? listArg(list) : identity.servers;
  return new AdminApiClient(servers, { ...identity.tls, serverRole: 'auth' }, source);
}

/** The typed auth API of admin commands, over the client adminClient picks. */
export function adminAuth(args: { 'data-dir'?: string; 'auth-server'?: string }): AuthClient {
  return new AuthClient(adminClient(args));
}

/** Parses a duration flag (`--ttl 1h`) into ms, naming the flag in the error. */
export function durationArg(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  try {
    return parseDuration(value);
  } catch (err) {
    throw new BadParameter(`--${flag}: ${describe(err)}`, {}, { cause: err });
  }
}

/** Splits a comma-separated flag into trimmed, non-empty values. */
export function listArg(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * A command body taking its parsed args. Errors propagate to the runner (cmd/lib/runner.ts), which prints them as
 * one line on stderr and exits with the code their type maps to (core/errors.ts): one place for every command.
 */
export function action<A>(fn: (args: A) => Promise<void> | void): (ctx: { args: A }) => Promise<void> {
  return async ({ args }) => {
    await fn(args);
  };
}

/** Reads all of stdin as text (for --password-stdin, -f -). */
export async function readStdin(): Promise<string> {
  return await new Response(Bun.stdin.stream()).text();
}

/**
 * A --proxy value as host:port. A URL is accepted as people paste it (`https://tp.example.com:3080/web`): the scheme
 * and path are dropped, and https without a port means 443. Plain HTTP is refused: the proxy speaks TLS only.
 */
export function proxyArg(value: string): string {
  const m = /^(?:([a-z][a-z0-9+.-]*):\/\/)?([^/?#]+)(?:[/?#].*)?$/i.exec(value.trim());
  if (!m) throw new BadParameter(`--proxy "${value}" is not an address: give host:port, e.g. tp.example.com:3080`);
  const [, scheme, hostPort] = m;
  if (scheme && scheme.toLowerCase() !== 'https')
    throw new BadParameter(`--proxy "${value}": the proxy speaks HTTPS only; give host:port, e.g. tp.example.com:3080`);
  if (/:\d+$/.test(hostPort!)) return hostPort!;
  if (scheme) return `${hostPort}:443`;
  throw new BadParameter(`--proxy "${value}" has no port: give host:port, e.g. ${hostPort}:3080`);
}

/** A flag naming a file to read: it must exist and be readable, or the error says which flag and why. */
export function readableFileArg(flag: string, path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  try {
    accessSync(path, constants.R_OK);
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : 'cannot be read';
    throw new BadParameter(`--${flag} ${path}: ${why}`, { flag }, { cause: err });
  }
  return path;
}
