import { createServer, type Socket } from 'node:net';
import type { AuditInput } from '../../core/audit/events.ts';
import { systemClock } from '../../core/clock.ts';
import { issueTlsCert } from '../../core/crypto/x509.ts';
import { cryptoIds } from '../../core/ids.ts';
import type { AgentPlugin, AgentPluginContext, PluginSession, VerifiedUser } from '../../core/plugin/types.ts';
import type { Role } from '../../core/rbac/index.ts';
import { startPostgresAgent } from '../../plugins/db-postgres/agent.ts';
import type { PostgresDatabase } from '../../plugins/db-postgres/index.ts';
import { run } from './cli.ts';
import { hostContextStub } from './pluginContext.ts';
import type { PostgresServer } from './postgresServer.ts';

/** A role that lets its holder reach every database as their `db_users` / `db_names` traits. */
export const DB_ROLE: Role = {
  kind: 'role',
  version: 'v1',
  metadata: { name: 'db-access' },
  spec: {
    options: {},
    allow: { db_labels: { '*': '*' }, db_users: ['{{internal.db_users}}'], db_names: ['{{internal.db_names}}'] },
    deny: {},
  },
};

/** The PostgreSQL agent plugin behind a plain loopback listener: each connection is one plugin stream. */
export interface PgAgentHarness extends AsyncDisposable {
  port: number;
  agent: AgentPlugin;
  /** Every audit event the agent emitted, in order. */
  events: AuditInput[];
  /** The sessions handed to the agent so far, with the controller that aborts each. */
  sessions: { session: PluginSession; abort: AbortController; done: Promise<void> }[];
  /** The user the next connections carry. */
  user: VerifiedUser;
  /** Runs stock psql against the listener (sslmode=disable, as through `tp proxy db --tunnel`). */
  psql(dbUser: string, dbName: string, args: string[], opts?: { stdin?: string }): ReturnType<typeof run>;
  /** The connection string stock clients use. */
  conninfo(dbUser: string, dbName: string): string;
  close(): Promise<void>;
}

/**
 * Starts the agent side of `db-postgres` for `pg` (as database `pg1`, labels env=dev) with a context whose `call`
 * signs db client certificates with the fixture's trusted client CA (what auth's db client CA does), and a TCP
 * listener that hands each connection to `serve` as an authenticated session of `user`.
 */
export async function startPgAgentHarness(
  pg: PostgresServer,
  opts: {
    user?: Partial<VerifiedUser>;
    roles?: Role[];
    entry?: Partial<PostgresDatabase>;
    route?: Record<string, string>;
  } = {},
): Promise<PgAgentHarness> {
  const events: AuditInput[] = [];
  const roles = opts.roles ?? [DB_ROLE];
  const host = hostContextStub('/nonexistent');
  const ctx: AgentPluginContext = {
    ...host,
    hostId: '6f1c1d53-7a52-4b0f-9d7e-1d1b6f0f0a01',
    nodeName: 'agent-1',
    cluster: 'test',
    clock: systemClock,
    ids: cryptoIds,
    emit: (e) => events.push(...e),
    state: { ...host.state, roles: () => roles, locks: () => [] },
    call: async <T>(method: string, path: string, body?: unknown, parse?: (json: unknown) => T): Promise<T> => {
      if (method !== 'POST' || path !== '/webapi/agent/db/cert') throw new Error(`unexpected call ${method} ${path}`);
      const b = body as { db_user: string; public_key: string };
      const cert = await issueTlsCert({
        ca: pg.pki.clientCa,
        publicKey: b.public_key,
        subject: { commonName: b.db_user, identity: { kind: 'user' } },
        now: Date.now(),
        ttlMs: 3_600_000,
        usage: 'client',
      });
      const answer = { cert, ca: [pg.caPem], expires: new Date(Date.now() + 3_600_000).toISOString() };
      return parse ? parse(answer) : (answer as T);
    },
    dataDir: '/nonexistent',
  };
  const agent = startPostgresAgent(ctx, [
    { name: 'pg1', protocol: 'postgres', uri: `127.0.0.1:${pg.port}`, labels: { env: 'dev' }, ...opts.entry },
  ]);
  const user: VerifiedUser = {
    name: 'alice@example.com',
    roles: [DB_ROLE.metadata.name],
    traits: { db_users: ['alice'], db_names: ['postgres'] },
    expires: Date.now() + 3_600_000,
    certDer: 'MIIB',
    ...opts.user,
  };
  const sessions: PgAgentHarness['sessions'] = [];
  const sockets = new Set<Socket>();
  // Half-open like the tunnel's streams (core/tunnel/muxStream.ts): a client's FIN still lets tp answer.
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    const abort = new AbortController();
    const session: PluginSession = {
      id: cryptoIds.uuid(),
      user: h.user,
      resource: 'pg1',
      route: opts.route ?? {},
      client: `${socket.remoteAddress}:${socket.remotePort}`,
      signal: abort.signal,
    };
    const done = agent.serve(socket, session).finally(() => {
      socket.destroy();
      sockets.delete(socket);
    });
    sessions.push({ session, abort, done });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  const conninfo = (dbUser: string, dbName: string) =>
    `host=127.0.0.1 port=${port} user=${dbUser} dbname=${dbName} sslmode=disable connect_timeout=10`;
  const close = async () => {
    await agent.close();
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  };
  const h: PgAgentHarness = {
    port,
    agent,
    events,
    sessions,
    user,
    conninfo,
    psql: (dbUser, dbName, args, o = {}) => run(['psql', '-X', conninfo(dbUser, dbName), ...args], o),
    close,
    [Symbol.asyncDispose]: close,
  };
  return h;
}

/** Waits until `ok()` holds, polling every 20 ms, for at most `ms`. */
export async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}
