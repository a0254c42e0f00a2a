// The RDP plugin's agent side: heartbeats the configured desktops (protocol and whose credentials: no address, no
// secret) and serves each browser stream the proxy sends as an RDCleanPath gateway.
import { readFileSync } from 'node:fs';
import { startDesktopAgent } from '../../core/desktop/agent.ts';
import { BadParameter, describe } from '../../core/errors.ts';
import type { AgentPlugin, AgentPluginContext } from '../../core/plugin/types.ts';
import type { RdpCredentials } from './clientInfo.ts';
import type { RdpDesktop } from './index.ts';
import { type RdpTarget, runRdpSession } from './session.ts';

/** The account in `username` (`DOMAIN\user` splits; `user@domain` stays whole) with the password in `file`. */
function readCredentials(d: RdpDesktop): RdpCredentials | undefined {
  if (!d.username || !d.password_file) return undefined;
  let text: string;
  try {
    text = readFileSync(d.password_file, 'utf8');
  } catch (err) {
    throw new BadParameter(`desktop "${d.name}": cannot read password_file ${d.password_file}: ${describe(err)}`);
  }
  const password = text.split(/\r?\n/)[0] ?? '';
  if (!password) throw new BadParameter(`desktop "${d.name}": password_file ${d.password_file} holds no password`);
  const slash = d.username.indexOf('\\');
  return slash < 0
    ? { domain: '', user: d.username, password }
    : { domain: d.username.slice(0, slash), user: d.username.slice(slash + 1), password };
}

/**
 * Starts the agent side for `entries` (each a `desktops.desktops` entry with `protocol: rdp`). Reads every password
 * file at start-up: an unreadable or empty one is a BadParameter naming the desktop, before anything is served.
 */
export function startRdpAgent(ctx: AgentPluginContext, entries: RdpDesktop[]): AgentPlugin {
  return startDesktopAgent<RdpTarget>({
    targets: entries.map((d) => ({
      desktop: d,
      credentials: readCredentials(d),
      certSha256: d.cert_sha256?.replaceAll(':', '').toLowerCase(),
    })),
    spec: (t) => ({ protocol: 'rdp', credentials: t.credentials ? 'agent' : 'user' }),
    run: (t, stream, s) => runRdpSession(ctx, t, stream, s),
  });
}
