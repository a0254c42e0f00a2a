// The desktop-vnc agent side alone, in front of a real Xvnc: each TCP connection to `port` is one session of `user`
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
import { startVncAgent } from '../../plugins/desktop-vnc/agent.ts';
import type { VncDesktop } from '../../plugins/desktop-vnc/index.ts';
import { hostContextStub } from './pluginContext.ts';
import { RfbClient } from './rfbClient.ts';

/** A role reaching every desktop as `logins`, with the desktop options given. */
export function desktopRole(
  name: string,
  o: { logins?: string[]; clipboard?: boolean; viewOnly?: boolean; deny?: Role['spec']['deny'] } = {},
): Role {
  return {
    kind: 'role',
    version: 'v1',
    metadata: { name },
    spec: {
      options: { desktop_clipboard: o.clipboard, desktop_view_only: o.viewOnly },
      allow: { desktop_labels: { '*': '*' }, desktop_logins: o.logins ?? ['alice'] },
      deny: o.deny ?? {},
    },
  };
}

/** The harness: where sessions connect, what the agent audited, the recording spool, and session control. */
export interface DesktopHarness extends AsyncDisposable {
  port: number;
  events: AuditInput[];
  /** The recording spool (sessions are recorded when `record` was set). */
  spool: string;
  /** Sets the roles the next sessions run with (the user holds every role named here). */
  setRoles(roles: Role[]): void;
  /** Opens one session as `login` (default `alice`); the client is past the TCP connect, before the handshake. */
  open(login?: string): Promise<RfbClient>;
  /** Aborts every open session, as a lock landing would. */
  abortAll(reason: string): void;
  close(): Promise<void>;
}

/** Starts the agent side serving desktop `lab1` at `addr` (a real Xvnc), with `entry` overriding the config. */
export async function startDesktopHarness(
  addr: string,
  o: { entry?: Partial<VncDesktop>; record?: boolean } = {},
): Promise<DesktopHarness> {
  const spool = mkdtempSync(join(tmpdir(), 'tp-desktop-spool-'));
  const events: AuditInput[] = [];
  let roles: Role[] = [desktopRole('desk')];
  const host = hostContextStub(spool);
  const ctx: AgentPluginContext = {
    ...host,
    hostId: '6f1c1d53-7a52-4b0f-9d7e-1d1b6f0f0a03',
    nodeName: 'agent-1',
    cluster: 'test',
    clock: systemClock,
    ids: cryptoIds,
    emit: (e) => events.push(...e),
    state: { ...host.state, roles: () => roles, locks: () => [] },
    recording: { dir: spool, mode: () => (o.record ? 'node' : 'off'), onPart: () => undefined },
    call: () => Promise.reject(new Error('the desktop agent calls nothing')),
    dataDir: spool,
  };
  const agent = startVncAgent(ctx, [{ name: 'lab1', protocol: 'vnc', addr, labels: { env: 'dev' }, ...o.entry }]);
  const sockets = new Set<Socket>();
  const controllers = new Set<AbortController>();
  let nextLogin = 'alice';
  const server = createServer((socket) => {
    sockets.add(socket);
    const controller = new AbortController();
    controllers.add(controller);
    const user: VerifiedUser = {
      name: 'alice',
      roles: roles.map((r) => r.metadata.name),
      traits: {},
      expires: Date.now() + 3_600_000,
      certDer: 'MIIB',
    };
    const session: PluginSession = {
      id: cryptoIds.uuid(),
      user,
      resource: 'lab1',
      route: { login: nextLogin },
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
  /** Sessions open one at a time: the next accepted connection takes `login`. */
  const open = async (login = 'alice') => {
    nextLogin = login;
    const sock = connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', () => resolve());
      sock.once('error', reject);
    });
    return new RfbClient(sock);
  };
  const close = async () => {
    for (const s of sockets) s.destroy();
    await agent.close();
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(spool, { recursive: true, force: true });
  };
  return {
    port,
    events,
    spool,
    setRoles: (r) => {
      roles = r;
    },
    open,
    abortAll: (reason) => {
      for (const c of controllers) c.abort(new Error(reason));
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
