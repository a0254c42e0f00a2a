import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as v from 'valibot';
import type { AuditInput } from '../../core/audit/events.ts';
import { systemClock } from '../../core/clock.ts';
import { issueTlsCert } from '../../core/crypto/x509.ts';
import { cryptoIds } from '../../core/ids.ts';
import type { AgentPlugin, AgentPluginContext, VerifiedUser } from '../../core/plugin/types.ts';
import { type Role, RoleSchema } from '../../core/rbac/schema.ts';
import { startMysqlAgent } from '../../plugins/db-mysql/agent.ts';
import { MARIADB, type MariadbServer } from './mariadbServer.ts';
import { hostContextStub } from './pluginContext.ts';

/** A role document parsed as auth would store it. */
export const dbRole = (doc: unknown): Role => v.parse(RoleSchema, doc);

/** One stream the harness handed to the plugin, with the switch that aborts its session signal. */
export interface HarnessSession {
  id: string;
  abort(reason: Error): void;
  done: Promise<void>;
}

/**
 * The db-mysql agent side driven the way the agent core drives it: a loopback TCP listener whose every connection
 * becomes one `serve(stream, session)` call with a constructed PluginSession for `user`, a context whose `call`
 * signs database client certificates with the fixture's trusted client CA, and audit events collected in `events`.
 */
export interface MysqlAgentHarness extends AsyncDisposable {
  port: number;
  plugin: AgentPlugin;
  events: AuditInput[];
  sessions: HarnessSession[];
  /** The cert requests the plugin made (`db_user` of each). */
  certRequests: string[];
  /** Waits until every session so far has ended (its last events are in), then returns how many events there are. */
  mark(): Promise<number>;
  /** Replaces the roles the agent's state holds (role edits land here). */
  setRoles(roles: Role[]): void;
  close(): Promise<void>;
}

/** Options: the fixture, the roles in the agent's state, the user on every stream, the database's labels. */
export interface HarnessOptions {
  maria: MariadbServer;
  roles: Role[];
  user: Omit<VerifiedUser, 'certDer' | 'expires'> & { expires?: number; certDer?: string };
  labels?: Record<string, string>;
  route?: Record<string, string>;
  /** The databases the plugin serves, all at the fixture (default `maria1`); streams ask for the first. */
  databases?: string[];
  /** Replaces the fixture's certificate signer (a real auth, through an agent's identity). */
  call?: AgentPluginContext['call'];
}

/** Starts the harness; `close()` stops the plugin and listener. */
export async function startMysqlAgentHarness(o: HarnessOptions): Promise<MysqlAgentHarness> {
  const events: AuditInput[] = [];
  const certRequests: string[] = [];
  let roles = o.roles;
  const dataDir = mkdtempSync(join(tmpdir(), 'tp-mysql-agent-'));
  const user: VerifiedUser = { expires: Date.now() + 3_600_000, certDer: 'dXNlci1jZXJ0', ...o.user };
  const host = hostContextStub(dataDir);
  const ctx: AgentPluginContext = {
    ...host,
    hostId: '00000000-0000-4000-8000-000000000001',
    nodeName: 'agent1',
    cluster: 'test',
    clock: systemClock,
    ids: cryptoIds,
    emit: (e) => events.push(...e),
    state: { ...host.state, roles: () => roles, locks: () => [] },
    dataDir,
    async call(method, path, body, parse) {
      const b = body as { cert: string; db_user: string; public_key: string };
      if (method !== 'POST' || path !== '/webapi/agent/db/cert' || b.cert !== user.certDer) {
        throw new Error(`unexpected call ${method} ${path}`);
      }
      certRequests.push(b.db_user);
      if (o.call) return o.call(method, path, body, parse);
      const cert = await issueTlsCert({
        ca: o.maria.pki.clientCa,
        publicKey: b.public_key,
        subject: { commonName: b.db_user, identity: { kind: 'user' } },
        now: Date.now(),
        ttlMs: 600_000,
        usage: 'client',
      });
      const answer = { cert, ca: [o.maria.caPem], expires: new Date(Date.now() + 600_000).toISOString() };
      return parse ? parse(answer) : (answer as never);
    },
  };
  const names = o.databases ?? ['maria1'];
  const plugin = startMysqlAgent(
    ctx,
    names.map((name) => ({
      name,
      protocol: 'mysql' as const,
      uri: `127.0.0.1:${o.maria.port}`,
      labels: o.labels ?? { env: 'dev' },
    })),
  );
  const sessions: HarnessSession[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((sock) => {
    sockets.add(sock);
    const stop = new AbortController();
    const id = randomUUID();
    const done = plugin
      .serve(sock, {
        id,
        user,
        resource: names[0]!,
        route: o.route ?? {},
        client: `${sock.remoteAddress}:${sock.remotePort}`,
        signal: stop.signal,
      })
      .catch((err: unknown) => {
        events.push({ type: 'db.session.end', success: false, error: `serve threw: ${String(err)}` });
      })
      .finally(() => {
        sock.destroy();
        sockets.delete(sock);
      });
    sessions.push({ id, abort: (reason) => stop.abort(reason), done });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  const close = async () => {
    await plugin.close();
    for (const s of sockets) s.destroy();
    await Promise.all(sessions.map((s) => s.done));
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dataDir, { recursive: true, force: true });
  };
  return {
    port,
    plugin,
    events,
    sessions,
    certRequests,
    mark: async () => {
      await Promise.all(sessions.map((s) => s.done));
      return events.length;
    },
    setRoles: (r) => {
      roles = r;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** What a finished `mariadb` client run printed. */
export interface ClientRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the stock `mariadb` client in plain text (`--skip-ssl`) against the harness; killed after `ms`. */
export async function runMariadb(port: number, args: string[], ms = 20_000): Promise<ClientRun> {
  const p = Bun.spawn(
    [
      MARIADB.client!,
      '--no-defaults',
      '--connect-timeout=10',
      '--skip-ssl',
      '-h',
      '127.0.0.1',
      '-P',
      String(port),
      '-N',
      '-B',
      ...args,
    ],
    { stdout: 'pipe', stderr: 'pipe', stdin: 'ignore' },
  );
  const timer = setTimeout(() => p.kill('SIGKILL'), ms);
  const [stdout, stderr, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  clearTimeout(timer);
  return { code, stdout: stdout.trim(), stderr: stderr.trim() };
}

/** Waits until `cond` holds, polling every 20 ms; throws naming `what` after `ms`. */
export async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}
