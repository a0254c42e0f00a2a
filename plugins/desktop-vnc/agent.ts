// The VNC plugin's agent side: heartbeats the configured desktops (protocol only: no address, no secret) and serves
// each browser stream the proxy sends.
import type { Duplex } from 'node:stream';
import { NotFound } from '../../core/errors.ts';
import type { AgentPlugin, AgentPluginContext, PluginSession, ResourceSpec } from '../../core/plugin/types.ts';
import type { VncDesktop } from './index.ts';
import { type DesktopTarget, runDesktopSession } from './session.ts';
import { readVncPassword } from './vncPassword.ts';

/**
 * Starts the agent side for `entries` (each a `desktops.desktops` entry with `protocol: vnc`). Reads every password
 * file at start-up: an unreadable or empty one is a BadParameter naming the desktop, before anything is served.
 */
export function startVncAgent(ctx: AgentPluginContext, entries: VncDesktop[]): AgentPlugin {
  const targets = new Map<string, DesktopTarget>(
    entries.map((d) => [
      d.name,
      { desktop: d, password: d.password_file ? readVncPassword(d.name, d.password_file) : undefined },
    ]),
  );
  const live = new Map<Duplex, Promise<void>>();
  return {
    resources: (): ResourceSpec[] =>
      [...targets.values()].map(({ desktop }) => ({
        name: desktop.name,
        labels: desktop.labels,
        spec: { protocol: 'vnc' },
      })),
    serve: async (stream: Duplex, s: PluginSession) => {
      const t = targets.get(s.resource);
      // The host checked the resource is one of ours; this only guards the map lookup.
      if (!t) throw new NotFound(`this agent serves no desktop "${s.resource}"`);
      const running = runDesktopSession(ctx, t, stream, s);
      live.set(stream, running);
      try {
        await running;
      } finally {
        live.delete(stream);
      }
    },
    // Cut streams end their sessions at once; waiting for them lets each audit its end before the agent's spool closes.
    close: async () => {
      for (const stream of live.keys()) stream.destroy();
      await Promise.allSettled(live.values());
    },
  };
}
