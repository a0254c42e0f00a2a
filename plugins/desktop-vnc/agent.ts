// The VNC plugin's agent side: heartbeats the configured desktops (protocol only: no address, no secret) and serves
// each browser stream the proxy sends.
import { startDesktopAgent } from '../../core/desktop/agent.ts';
import type { AgentPlugin, AgentPluginContext } from '../../core/plugin/types.ts';
import type { VncDesktop } from './index.ts';
import { type DesktopTarget, runDesktopSession } from './session.ts';
import { readVncPassword } from './vncPassword.ts';

/**
 * Starts the agent side for `entries` (each a `desktops.desktops` entry with `protocol: vnc`). Reads every password
 * file at start-up: an unreadable or empty one is a BadParameter naming the desktop, before anything is served.
 */
export function startVncAgent(ctx: AgentPluginContext, entries: VncDesktop[]): AgentPlugin {
  return startDesktopAgent<DesktopTarget>({
    targets: entries.map((d) => ({
      desktop: d,
      password: d.password_file ? readVncPassword(d.name, d.password_file) : undefined,
    })),
    spec: () => ({ protocol: 'vnc' }),
    run: (t, stream, s) => runDesktopSession(ctx, t, stream, s),
  });
}
