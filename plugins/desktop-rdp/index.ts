// The RDP desktop plugin: Windows and xrdp desktops over RDP, opened in the browser by IronRDP's web client through
// the proxy (DESIGN.md "Plugins"). The agent is the RDCleanPath gateway IronRDP expects: it dials the configured
// server (never the client's destination), does X.224 and TLS itself, then walks the client's PDUs to put the
// agent's credentials into the Client Info PDU and to drop input in view-only sessions. Loads only where it serves.
import * as v from 'valibot';
import { desktopAddr, desktopLabels, desktopName, entrySpeaks } from '../../core/desktop/entry.ts';
import { definePlugin } from '../../core/plugin/define.ts';
import { desktopPolicy } from '../../core/rbac/desktopPolicy.ts';

const SHA256 = /^([0-9a-fA-F]{2}:?){31}[0-9a-fA-F]{2}$/;

/**
 * One `desktops.desktops` entry this plugin serves: `{name, protocol: rdp, addr, username?, password_file?,
 * cert_sha256?, labels?}`; username and password_file come together or not at all.
 */
export const RdpDesktopSchema = v.pipe(
  v.strictObject({
    name: desktopName,
    protocol: v.literal('rdp'),
    /** The RDP server's `host:port` (usually port 3389). */
    addr: desktopAddr('10.0.0.5:3389'),
    /** The account the agent logs in as (`user` or `DOMAIN\user`); absent: the user types their own in the page. */
    username: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(256))),
    /** A file whose first line is that account's password (read at start-up, never sent to the browser). */
    password_file: v.optional(v.pipe(v.string(), v.minLength(1))),
    /** The SHA-256 of the server's TLS certificate (hex, colons optional); absent: any certificate is taken. */
    cert_sha256: v.optional(v.pipe(v.string(), v.regex(SHA256, 'expected the 64 hex digits of a SHA-256'))),
    labels: desktopLabels,
  }),
  v.check(
    (d) => (d.username === undefined) === (d.password_file === undefined),
    'username and password_file go together: give both (agent credentials) or neither (the user types them)',
  ),
);

export type RdpDesktop = v.InferOutput<typeof RdpDesktopSchema>;

/**
 * `--desktop NAME=rdp://HOST:PORT[?username=U&password_file=PATH&cert_sha256=HEX]` as a raw `desktops.desktops`
 * entry; undefined for another protocol's value (`vnc://`). Unknown query keys are kept, so validation names them.
 */
export function parseDesktopFlag(value: string): unknown {
  const m = /^([^=]+)=rdp:\/\/([^?]+)(?:\?(.*))?$/.exec(value);
  if (!m) return undefined;
  const query = Object.fromEntries(new URLSearchParams(m[3] ?? ''));
  return { name: m[1], protocol: 'rdp', addr: m[2], ...query };
}

export default definePlugin<RdpDesktop>({
  name: 'desktop-rdp',
  kind: 'desktop',
  alpn: ['tp-desktop-rdp'],
  config: RdpDesktopSchema,
  section: { key: 'desktops', list: 'desktops' },
  // Every desktop plugin shares the desktop kind's RBAC: desktop_labels, desktop_logins and the session options.
  policy: desktopPolicy,
  // Runs on the raw entry, before validation: whatever its shape, only `protocol: rdp` is ours.
  claims: (entry) => entrySpeaks(entry, 'rdp'),
  flag: {
    name: 'desktop',
    description: 'serve a desktop, NAME=rdp://HOST:PORT[?username=U&password_file=PATH] (repeatable)',
    parse: parseDesktopFlag,
  },
  agent: async (ctx, entries) => (await import('./agent.ts')).startRdpAgent(ctx, entries),
});
