import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as v from 'valibot';
import { AuditEventSchema } from '../../core/api/schemas.ts';
import type { AuthServerOptions } from '../../core/auth/server.ts';
import { localUsername } from '../../core/client/localUser.ts';
import type { PluginLoader } from '../../core/plugin/registry.ts';
import type { ProxyOptions } from '../../core/proxy/server.ts';
import { type CliResult, tp } from './cli.ts';
import { startTestCluster, type TestAgentSpec, type TestCluster } from './cluster.ts';

export const PASSWORD = 'correct horse battery staple';
export const me = localUsername();

/** A user of the fixture: its own TP_HOME, logged in through the real CLI. */
export interface FixtureUser {
  name: string;
  home: string;
  /** Runs `tp ...` as this user. */
  tp(args: string[], opts?: { env?: Record<string, string>; stdin?: string }): Promise<CliResult>;
  env: Record<string, string>;
}

/** A cluster with agents, roles and users ready for SSH tests. */
export interface SshFixture extends AsyncDisposable {
  cluster: TestCluster;
  dir: string;
  /** Creates a user with roles (logins default to the local user) and logs them in with `tp login`. */
  user(name: string, roles: string[], o?: { logins?: string[]; ttl?: string }): Promise<FixtureUser>;
  /** Creates a role from YAML through `tp roles create`. */
  role(yaml: string): Promise<void>;
  admin(args: string[], stdin?: string): Promise<CliResult>;
  close(): Promise<void>;
}

/** Starts the cluster and the admin plumbing; roles `ops` (everything, forwarding on) exists from the start. */
export async function startSshFixture(
  agents: TestAgentSpec[],
  auth?: Partial<AuthServerOptions>,
  proxy?: Partial<ProxyOptions>,
  /** The plugins to load (default plugins/index.ts): a test adds its fixture plugins. */
  plugins?: PluginLoader[],
): Promise<SshFixture> {
  const cluster = await startTestCluster({ agents, auth, proxy, plugins });
  const dir = mkdtempSync(join(tmpdir(), 'tp-ssh-'));
  const admin = (args: string[], stdin?: string) => tp([...args, '--data-dir', cluster.auth.dataDir], { stdin });
  const role = async (yaml: string) => {
    const f = join(dir, `role-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(f, yaml);
    const r = await admin(['roles', 'create', '-f', f]);
    if (r.code !== 0) throw new Error(`roles create: ${r.stderr}`);
  };
  await role(
    'metadata: {name: ops}\nspec:\n  options: {port_forwarding: true, forward_agent: true, max_session_ttl: 8h}\n  allow: {logins: ["{{internal.logins}}"], node_labels: {"*": "*"}}\n',
  );
  const user = async (
    name: string,
    roles: string[],
    o: { logins?: string[]; ttl?: string } = {},
  ): Promise<FixtureUser> => {
    const add = await admin(
      ['users', 'add', name, '--roles', roles.join(','), '--logins', (o.logins ?? [me]).join(','), '--password-stdin'],
      PASSWORD,
    );
    if (add.code !== 0) throw new Error(`users add: ${add.stderr}`);
    const home = mkdtempSync(join(dir, `home-${name}-`));
    const env = { TP_HOME: home };
    const run = (args: string[], opts: { env?: Record<string, string>; stdin?: string } = {}) =>
      tp(args, { env: { ...env, ...opts.env }, stdin: opts.stdin });
    const args = [
      'login',
      '--proxy',
      cluster.proxy.addr,
      '--user',
      name,
      '--password-stdin',
      '--insecure',
      ...(o.ttl ? ['--ttl', o.ttl] : []),
    ];
    const login = await run(args, { stdin: PASSWORD });
    if (login.code !== 0) throw new Error(`login: ${login.stderr}`);
    return { name, home, tp: run, env };
  };
  const close = async () => {
    await cluster.close();
    rmSync(dir, { recursive: true, force: true });
  };
  return { cluster, dir, user, role, admin, close, [Symbol.asyncDispose]: close };
}

/** Audit events of a type, newest last. */
export async function auditEvents(f: SshFixture, type: string): Promise<Record<string, unknown>[]> {
  return f.cluster.auth.admin.get(v.array(AuditEventSchema), `/v1/audit/events?type=${type}`);
}
