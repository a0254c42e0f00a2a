#!/usr/bin/env bun
import { defineCommand, runMain } from 'citty';
import pkg from '../package.json' with { type: 'json' };

/** The tp command line. Every subcommand loads lazily, so `tp version` loads no TLS, SSH or storage code. */
const main = defineCommand({
  meta: {
    name: 'tp',
    version: pkg.version,
    description: 'tp: short-lived certificates and audited access to SSH servers (and more) through one proxy',
  },
  subCommands: {
    version: () => import('./version.ts').then((m) => m.default),
    start: () => import('./start.ts').then((m) => m.default),
    ca: () => import('./ca.ts').then((m) => m.default),
    users: () => import('./users.ts').then((m) => m.default),
    sso: () => import('./sso.ts').then((m) => m.default),
    roles: () => import('./roles.ts').then((m) => m.default),
    tokens: () => import('./tokens.ts').then((m) => m.default),
    locks: () => import('./locks.ts').then((m) => m.default),
    rotate: () => import('./rotate.ts').then((m) => m.default),
    audit: () => import('./audit.ts').then((m) => m.default),
    recordings: () => import('./recordings.ts').then((m) => m.default),
    play: () => import('./play.ts').then((m) => m.default),
    bench: () => import('./bench.ts').then((m) => m.default),
    nodes: () => import('./nodes.ts').then((m) => m.default),
    login: () => import('./login.ts').then((m) => m.default),
    logout: () => import('./logout.ts').then((m) => m.default),
    status: () => import('./status.ts').then((m) => m.default),
    ls: () => import('./ls.ts').then((m) => m.default),
    ssh: () => import('./ssh.ts').then((m) => m.default),
    scp: () => import('./scp.ts').then((m) => m.default),
    config: () => import('./config.ts').then((m) => m.default),
    proxy: () => import('./proxy.ts').then((m) => m.default),
    agent: () => import('./agent.ts').then((m) => m.default),
  },
});

await runMain(main);
