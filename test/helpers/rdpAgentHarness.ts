// The desktop-rdp agent side alone, in front of a real xrdp: each TCP connection to `port` is one session of alice
// (roles as the test sets them), as the plugin host would hand it over after verifying the user's certificate.
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditInput } from '../../core/audit/events.ts';
import { systemClock } from '../../core/clock.ts';
import { cryptoIds } from '../../core/ids.ts';
import type { AgentPluginContext, PluginSession, VerifiedUser } from '../../core/plugin/types.ts';
import type { Role } from '../../core/rbac/index.ts';
import { startRdpAgent } from '../../plugins/desktop-rdp/agent.ts';
import type { RdpDesktop } from '../../plugins/desktop-rdp/index.ts';
import { desktopRole } from './desktopAgentHarness.ts';
import { hostContextStub } from './pluginContext.ts';

/** The harness: where sessions connect, what the agent audited, and session control. */
export interface RdpHarness extends AsyncDisposable {
  port: number;
  events: AuditInput[];
  /** Sets the roles (and alice's traits) the next sessions run with. */
  setRoles(roles: Role[], traits?: Record<string, string[]>): void;
  /** Opens one session (route.login `login`, none when undefined), connected, before any byte. */
  open(login?: string): Promise<Socket>;
  /** Aborts every open session, as a lock landing would. */
  abortAll(reason: string): void;
  close(): Promise<void>;
}

/** Starts the agent side serving desktop `win1` at `addr`, with `entry` overriding the config. */
export async function startRdpHarness(addr: string, entry: Partial<RdpDesktop> = {}): Promise<RdpHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'tp-rdp-agent-'));
  const events: AuditInput[] = [];
  let roles: Role[] = [desktopRole('desk')];
  let traits: Record<string, string[]> = {};
  const host = hostContextStub(dir);
  const ctx: AgentPluginContext = {
    ...host,
    hostId: '6f1c1d53-7a52-4b0f-9d7e-1d1b6f0f0a04',
    nodeName: 'agent-1',
    cluster: 'test',
    clock: systemClock,
    ids: cryptoIds,
    emit: (e) => events.push(...e),
    state: { ...host.state, roles: () => roles, locks: () => [] },
    call: () => Promise.reject(new Error('the desktop agent calls nothing')),
    dataDir: dir,
  };
  const agent = startRdpAgent(ctx, [{ name: 'win1', protocol: 'rdp', addr, labels: { os: 'linux' }, ...entry }]);
  const sockets = new Set<Socket>();
  const controllers = new Set<AbortController>();
  let nextLogin: string | undefined;
  const server = createServer((socket) => {
    sockets.add(socket);
    const controller = new AbortController();
    controllers.add(controller);
    const user: VerifiedUser = {
      name: 'alice',
      roles: roles.map((r) => r.metadata.name),
      traits,
      expires: Date.now() + 3_600_000,
      certDer: 'MIIB',
    };
    const session: PluginSession = {
      id: cryptoIds.uuid(),
      user,
      resource: 'win1',
      route: nextLogin === undefined ? {} : { login: nextLogin },
      client: `${socket.remoteAddress}:${socket.remotePort}`,
      signal: controller.signal,
    };
    agent
      .serve(socket, session)
      .catch((err) => events.push({ type: 'desktop.session.end', error: String(err) }))
      .finally(() => {
        socket.destroy();
        sockets.delete(socket);
        controllers.delete(controller);
      });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  const open = async (login?: string) => {
    nextLogin = login;
    const sock = connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', () => resolve());
      sock.once('error', reject);
    });
    return sock;
  };
  const close = async () => {
    for (const s of sockets) s.destroy();
    await agent.close();
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  };
  return {
    port,
    events,
    setRoles: (r, t = {}) => {
      roles = r;
      traits = t;
    },
    open,
    abortAll: (reason) => {
      for (const c of controllers) c.abort(new Error(reason));
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
