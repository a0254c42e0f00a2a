// The desktop-rdp agent side alone, in front of a real xrdp: each TCP connection to `port` is one session of alice
// (roles as the test sets them), as the plugin host would hand it over after verifying the user's certificate.
import { mkdtempSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditInput } from '../../core/audit/events.ts';
import type { Role } from '../../core/rbac/index.ts';
import { startRdpAgent } from '../../plugins/desktop-rdp/agent.ts';
import type { RdpDesktop } from '../../plugins/desktop-rdp/index.ts';
import { desktopRole } from './desktopAgentHarness.ts';
import { desktopAgentContext, listenAsSessions } from './desktopHarnessBase.ts';

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
  const ctx = desktopAgentContext({ dir, hostId: '6f1c1d53-7a52-4b0f-9d7e-1d1b6f0f0a04', events, roles: () => roles });
  const agent = startRdpAgent(ctx, [{ name: 'win1', protocol: 'rdp', addr, labels: { os: 'linux' }, ...entry }]);
  const sessions = await listenAsSessions(agent, {
    resource: 'win1',
    events,
    roles: () => roles,
    traits: () => traits,
  });
  const close = async () => {
    await sessions.close();
    rmSync(dir, { recursive: true, force: true });
  };
  return {
    port: sessions.port,
    events,
    setRoles: (r, t = {}) => {
      roles = r;
      traits = t;
    },
    open: (login) => sessions.open(login === undefined ? {} : { login }),
    abortAll: sessions.abortAll,
    close,
    [Symbol.asyncDispose]: close,
  };
}
