// The desktop-vnc agent side alone, in front of a real Xvnc: each TCP connection to `port` is one session of `user`
// (roles as the test sets them), as the plugin host would hand it over after verifying the user's certificate.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditInput } from '../../core/audit/events.ts';
import type { Role } from '../../core/rbac/index.ts';
import { startVncAgent } from '../../plugins/desktop-vnc/agent.ts';
import type { VncDesktop } from '../../plugins/desktop-vnc/index.ts';
import { desktopAgentContext, listenAsSessions } from './desktopHarnessBase.ts';
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
  const ctx = desktopAgentContext({
    dir: spool,
    hostId: '6f1c1d53-7a52-4b0f-9d7e-1d1b6f0f0a03',
    events,
    roles: () => roles,
    record: o.record,
  });
  const agent = startVncAgent(ctx, [{ name: 'lab1', protocol: 'vnc', addr, labels: { env: 'dev' }, ...o.entry }]);
  const sessions = await listenAsSessions(agent, { resource: 'lab1', events, roles: () => roles, traits: () => ({}) });
  const close = async () => {
    await sessions.close();
    rmSync(spool, { recursive: true, force: true });
  };
  return {
    port: sessions.port,
    events,
    spool,
    setRoles: (r) => {
      roles = r;
    },
    open: async (login = 'alice') => new RfbClient(await sessions.open({ login })),
    abortAll: sessions.abortAll,
    close,
    [Symbol.asyncDispose]: close,
  };
}
