import { existsSync, readFileSync } from 'node:fs';
import { AccessDenied, NotFound } from '../errors.ts';

/** A local account as /etc/passwd describes it. */
export interface OsUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

/** Looks up a login in /etc/passwd; throws NotFound when this host has no such account. */
export function lookupOsUser(login: string): OsUser {
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const f = line.split(':');
    if (f[0] === login && f.length >= 7) {
      return { name: login, uid: Number(f[2]), gid: Number(f[3]), home: f[5] || '/', shell: f[6] || '/bin/sh' };
    }
  }
  throw new NotFound(`login "${login}" does not exist on this host`);
}

/**
 * The argv that runs `argv` as `user`: as is when we already are that user, through runuser when we are root;
 * anything else is refused (a non-root agent can only log people in as its own user, like sshd).
 */
export function asUser(user: OsUser, argv: string[]): string[] {
  const me = process.getuid?.();
  if (me === user.uid) return argv;
  if (me === 0) {
    const runuser = ['/usr/sbin/runuser', '/sbin/runuser', '/usr/bin/runuser'].find((p) => existsSync(p));
    if (!runuser) throw new AccessDenied('runuser is not installed; cannot switch to the login user');
    return [runuser, '-u', user.name, '--', ...argv];
  }
  throw new AccessDenied(`this agent runs as uid ${me} and cannot log in as "${user.name}"`);
}

/** The login environment of a session: the user's HOME/SHELL plus what the client asked for. */
export function loginEnv(user: OsUser, extra: Record<string, string>): Record<string, string> {
  return {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: user.home,
    USER: user.name,
    LOGNAME: user.name,
    SHELL: user.shell,
    LANG: process.env.LANG ?? 'C.UTF-8',
    ...extra,
  };
}
