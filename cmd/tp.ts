#!/usr/bin/env -S bun --no-env-file --config=/dev/null
import pkg from '../package.json' with { type: 'json' };
import { type AnyCommand, type LazyCommand, runProgram } from './lib/runner.ts';

/** A command listed with its summary and loaded from its module only when it runs. */
const lazy = (summary: string, load: () => Promise<{ default: AnyCommand }>): LazyCommand => ({
  summary,
  load: () => load().then((m) => m.default),
});

/**
 * The tp command line. Every command loads lazily, so `tp version` loads no TLS, SSH or storage code. Not awaited
 * (runProgram never rejects): without top-level await, scripts/dist.ts can compile it to bytecode (CommonJS only).
 */
void runProgram(
  {
    name: 'tp',
    version: pkg.version,
    description: 'tp: short-lived certificates and audited access to SSH servers (and more) through one proxy',
    commands: {
      login: lazy(
        'Log in through a proxy: short-lived SSH and X.509 certificates for keys made here',
        () => import('./login.ts'),
      ),
      logout: lazy("Delete the active profile's keys and certificates", () => import('./logout.ts')),
      status: lazy('Show the active profile: proxy, user, logins, validity', () => import('./status.ts')),
      ls: lazy('List the nodes you may reach, optionally filtered by labels', () => import('./ls.ts')),
      ssh: lazy('Open a shell or run a command on a node', () => import('./ssh.ts')),
      db: lazy('Databases: list, connect with psql or mariadb, environment for a tunnel', () => import('./db.ts')),
      kube: lazy(
        'Kubernetes clusters: list them, point kubectl at one through tp (exec credentials)',
        () => import('./kube.ts'),
      ),
      apps: lazy('Web apps: list them, get a certificate for curl and scripts', () => import('./apps.ts')),
      scp: lazy('Copy files to or from a node (SFTP through the proxy)', () => import('./scp.ts')),
      config: lazy('Print an OpenSSH client config for the active profile', () => import('./config.ts')),
      play: lazy('Replay a recorded session', () => import('./play.ts')),
      recordings: lazy('Session recordings: list and search', () => import('./recordings.ts')),
      audit: lazy('The audit log: search and export', () => import('./audit.ts')),
      start: lazy(
        'Run the services enabled in tp.yaml (with no config, the all-in-one cluster)',
        () => import('./start.ts'),
      ),
      ca: lazy(
        'The cluster certificate authority: run it, export its keys, sign certificates',
        () => import('./ca.ts'),
      ),
      proxy: lazy('Run a proxy, pipe SSH through one, or tunnel a database or a web app', () => import('./proxy.ts')),
      agent: lazy('Run an agent next to a resource', () => import('./agent.ts')),
      users: lazy('Manage users', () => import('./users.ts')),
      roles: lazy('Manage roles', () => import('./roles.ts')),
      sso: lazy('Single sign-on connectors (GitHub, OpenID Connect)', () => import('./sso.ts')),
      tokens: lazy('Manage join tokens', () => import('./tokens.ts')),
      bots: lazy('Manage bots: machine identities for scripts and CI (admin)', () => import('./bots.ts')),
      bot: lazy('Run a bot: join with a token and keep an identity file fresh', () => import('./bot.ts')),
      ci: lazy('Run a CI step with a short-lived bot identity, removed afterwards', () => import('./ci.ts')),
      locks: lazy('Lock users or nodes out', () => import('./locks.ts')),
      nodes: lazy('Manage nodes (admin)', () => import('./nodes.ts')),
      rotate: lazy('Rotate the cluster CAs without downtime', () => import('./rotate.ts')),
      bench: lazy('Load tools: measure tp on your own cluster', () => import('./bench.ts')),
      version: lazy('Print the tp version', () => import('./version.ts')),
    },
  },
  identityFlag(process.argv.slice(2)),
);

/**
 * Takes a leading `-i FILE` / `--identity FILE` (an identity file from `tp bot start`) into TP_IDENTITY, which every
 * command's profile loading reads; returns the remaining arguments.
 */
function identityFlag(argv: string[]): string[] {
  const m = /^--identity=(.+)$/.exec(argv[0] ?? '');
  if (m) {
    process.env.TP_IDENTITY = m[1];
    return argv.slice(1);
  }
  if ((argv[0] === '-i' || argv[0] === '--identity') && argv[1]) {
    process.env.TP_IDENTITY = argv[1];
    return argv.slice(2);
  }
  return argv;
}
