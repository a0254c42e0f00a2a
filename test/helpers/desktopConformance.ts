// What both desktop plugins' conformance suites put on their cluster: one agent serving desktops over its reverse tunnel,
// one direct agent serving the same server under another name, both given them as `--desktop` flags, and alice
// (desktop_logins alice) to reach them.
import type { Duplex } from 'node:stream';
import type { ConformanceHarness } from '../../core/plugin/conformance.ts';
import type { TestCluster } from './cluster.ts';
import { auditEvents, foreignUser, proxySide, signedUser, waitForResources } from './conformanceHarness.ts';

/** What a desktop plugin's suite puts on the cluster. */
export interface DesktopConformanceSetup {
  /** The agents' name prefix (`vnc` makes `vnc-agent-tunnel` and `vnc-agent-direct`). */
  protocol: string;
  /** The desktop served through the tunnel and the one served direct. */
  names: { tunnel: string; direct: string };
  /** The `--desktop` value serving the server as `name`. */
  flag: (name: string) => string;
  /** More `--desktop` values for the tunnel agent (each `NAME=...`): heartbeated too, not in the suite's resources. */
  moreTunnelFlags?: string[];
  /** One protocol exchange through tp, once the proxy has acked the stream. */
  exercise: (sock: Duplex) => Promise<void>;
}

/** Adds the agents and alice to `cluster`; returns the conformance harness over it once every desktop heartbeats. */
export async function desktopConformanceHarness(
  cluster: TestCluster,
  o: DesktopConformanceSetup,
): Promise<ConformanceHarness> {
  const more = o.moreTunnelFlags ?? [];
  await cluster.addAgent({
    name: `${o.protocol}-agent-tunnel`,
    pluginFlags: { desktop: [o.flag(o.names.tunnel), ...more] },
  });
  const direct = await cluster.addAgent({
    name: `${o.protocol}-agent-direct`,
    direct: true,
    pluginFlags: { desktop: [o.flag(o.names.direct)] },
  });
  await cluster.auth.client.createUser({
    name: 'alice',
    roles: ['access'],
    traits: { desktop_logins: ['alice'] },
    password: 'correct horse battery',
  });
  const harness: ConformanceHarness = {
    ...proxySide(cluster),
    resources: [
      { name: o.names.tunnel, via: 'tunnel' },
      { name: o.names.direct, via: 'direct', directAddr: direct.directAddr },
    ],
    principals: { allowed: 'alice', denied: 'root' },
    user: signedUser(cluster, 'alice'),
    foreignUser: () => foreignUser('alice', ['access']),
    events: auditEvents(cluster),
    protocol: {
      request: (login) => ({ principal: login, route: { login } }),
      exercise: o.exercise,
    },
  };
  const extra = more.map((f) => f.slice(0, f.indexOf('=')));
  await waitForResources(cluster, 'desktop', [o.names.tunnel, o.names.direct, ...extra]);
  return harness;
}
