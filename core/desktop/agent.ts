// What every desktop plugin's agent side shares: heartbeating its configured desktops, serving each stream on the
// desktop it names, and keeping the live sessions so that closing the agent cuts them and waits for their ends.
import type { Duplex } from 'node:stream';
import { NotFound } from '../errors.ts';
import type { AgentPlugin, PluginSession, ResourceSpec } from '../plugin/types.ts';

/** One configured desktop as an agent serves it: at least the entry's name and labels. */
export interface DesktopAgentTarget {
  desktop: { name: string; labels: Record<string, string> };
}

/** What a desktop plugin gives its agent side: the desktops, what each heartbeats, and how one session runs. */
export interface DesktopAgentParts<T extends DesktopAgentTarget> {
  targets: T[];
  /** The heartbeat's `spec` for one desktop (protocol and the like: never an address or a secret). */
  spec: (target: T) => Record<string, unknown>;
  /** Serves one browser stream on `target` until it ends; resolves once the session has audited its end. */
  run: (target: T, stream: Duplex, session: PluginSession) => Promise<void>;
}

/**
 * An agent side that heartbeats every target (its name, labels and `spec`) and serves each stream with `run` on the
 * target its resource names. `close` cuts every live stream and resolves once each session has ended, so each
 * audits its end before the agent's spool closes.
 */
export function startDesktopAgent<T extends DesktopAgentTarget>(parts: DesktopAgentParts<T>): AgentPlugin {
  const targets = new Map<string, T>(parts.targets.map((t) => [t.desktop.name, t]));
  const live = new Map<Duplex, Promise<void>>();
  return {
    resources: (): ResourceSpec[] =>
      [...targets.values()].map((t) => ({ name: t.desktop.name, labels: t.desktop.labels, spec: parts.spec(t) })),
    serve: async (stream: Duplex, s: PluginSession) => {
      const t = targets.get(s.resource);
      // The host checked the resource is one of ours; this only guards the map lookup.
      if (!t) throw new NotFound(`this agent serves no desktop "${s.resource}"`);
      const running = parts.run(t, stream, s);
      live.set(stream, running);
      try {
        await running;
      } finally {
        live.delete(stream);
      }
    },
    close: async () => {
      for (const stream of live.keys()) stream.destroy();
      await Promise.allSettled(live.values());
    },
  };
}
