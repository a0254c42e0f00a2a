// What the VNC and RDP agent harnesses share: a context for a desktop agent side run alone, and a loopback listener
// handing each TCP connection to the agent as one session of alice, as the plugin host would after verifying her.
import { connect, createServer, type Socket } from 'node:net';
import type { AuditInput } from '../../core/audit/events.ts';
import { systemClock } from '../../core/clock.ts';
import { cryptoIds } from '../../core/ids.ts';
import type { AgentPlugin, AgentPluginContext, PluginSession, VerifiedUser } from '../../core/plugin/types.ts';
import type { Role } from '../../core/rbac/index.ts';
import { hostContextStub } from './pluginContext.ts';

/**
 * An agent context whose audit lands in `events`, whose roles are `roles()` at each lookup and whose files go under
 * `dir` (recorded there as the node mode when `record`).
 */
export function desktopAgentContext(o: {
  dir: string;
  hostId: string;
  events: AuditInput[];
  roles: () => Role[];
  record?: boolean;
}): AgentPluginContext {
  const host = hostContextStub(o.dir);
  return {
    ...host,
    hostId: o.hostId,
    nodeName: 'agent-1',
    cluster: 'test',
    clock: systemClock,
    ids: cryptoIds,
    emit: (e) => o.events.push(...e),
    state: { ...host.state, roles: o.roles, locks: () => [] },
    recording: { dir: o.dir, mode: () => (o.record ? 'node' : 'off'), onPart: () => undefined },
    call: () => Promise.reject(new Error('the desktop agent calls nothing')),
    dataDir: o.dir,
  };
}

/** Where sessions connect, and their control. */
export interface SessionListener {
  port: number;
  /** Opens one session with `route` (sessions open one at a time), connected, before any byte. */
  open(route: Record<string, string>): Promise<Socket>;
  /** Aborts every open session, as a lock landing would. */
  abortAll(reason: string): void;
  /** Cuts every connection, closes the agent side (its sessions audit their ends), then the listener. */
  close(): Promise<void>;
}

/**
 * Listens on loopback and serves each connection with `agent` as a session of alice on `resource`, holding the
 * roles and traits current at accept time; a serve that rejects is audited into `events` as its error.
 */
export async function listenAsSessions(
  agent: AgentPlugin,
  o: {
    resource: string;
    events: AuditInput[];
    roles: () => Role[];
    traits: () => Record<string, string[]>;
  },
): Promise<SessionListener> {
  const sockets = new Set<Socket>();
  const controllers = new Set<AbortController>();
  let nextRoute: Record<string, string> = {};
  const server = createServer((socket) => {
    sockets.add(socket);
    const controller = new AbortController();
    controllers.add(controller);
    const user: VerifiedUser = {
      name: 'alice',
      roles: o.roles().map((r) => r.metadata.name),
      traits: o.traits(),
      expires: Date.now() + 3_600_000,
      certDer: 'MIIB',
    };
    const session: PluginSession = {
      id: cryptoIds.uuid(),
      user,
      resource: o.resource,
      route: nextRoute,
      client: `${socket.remoteAddress}:${socket.remotePort}`,
      signal: controller.signal,
    };
    agent
      .serve(socket, session)
      .catch((err) => o.events.push({ type: 'desktop.session.end', error: String(err) }))
      .finally(() => {
        socket.destroy();
        sockets.delete(socket);
        controllers.delete(controller);
      });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    open: async (route) => {
      nextRoute = route;
      const sock = connect({ host: '127.0.0.1', port });
      await new Promise<void>((resolve, reject) => {
        sock.once('connect', () => resolve());
        sock.once('error', reject);
      });
      return sock;
    },
    abortAll: (reason) => {
      for (const c of controllers) c.abort(new Error(reason));
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await agent.close();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
