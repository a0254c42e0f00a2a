// The VNC desktop plugin: Linux desktops over RFB, opened in the browser through the proxy (DESIGN.md "Plugins").
// The agent holds the VNC password, offers the browser security type None only, and walks both directions of the
// stream to enforce view-only sessions and the clipboard policy. Its agent side loads only on agents serving one.
import * as v from 'valibot';
import { desktopAddr, desktopLabels, desktopName, entrySpeaks } from '../../core/desktop/entry.ts';
import { definePlugin } from '../../core/plugin/define.ts';
import { desktopPolicy } from '../../core/rbac/desktopPolicy.ts';

/** One `desktops.desktops` entry this plugin serves: `{name, protocol: vnc, addr, password_file?, labels?}`. */
export const VncDesktopSchema = v.strictObject({
  name: desktopName,
  protocol: v.literal('vnc'),
  /** The VNC server's `host:port` (display :1 is port 5901). */
  addr: desktopAddr('127.0.0.1:5901'),
  /** The VNC password: a file holding it in plain text, or one `vncpasswd -f` wrote. Absent: security type None. */
  password_file: v.optional(v.pipe(v.string(), v.minLength(1))),
  labels: desktopLabels,
});

export type VncDesktop = v.InferOutput<typeof VncDesktopSchema>;

/**
 * `--desktop NAME=vnc://HOST:PORT[?password_file=PATH]` as a raw `desktops.desktops` entry; undefined for another
 * protocol's value (`rdp://`).
 */
export function parseDesktopFlag(value: string): unknown {
  const m = /^([^=]+)=vnc:\/\/([^?]+)(?:\?password_file=(.+))?$/.exec(value);
  if (!m) return undefined;
  return { name: m[1], protocol: 'vnc', addr: m[2], ...(m[3] ? { password_file: decodeURIComponent(m[3]) } : {}) };
}

export default definePlugin<VncDesktop>({
  name: 'desktop-vnc',
  kind: 'desktop',
  alpn: ['tp-desktop-vnc'],
  config: VncDesktopSchema,
  section: { key: 'desktops', list: 'desktops' },
  // Every desktop plugin shares the desktop kind's RBAC: desktop_labels, desktop_logins and the session options.
  policy: desktopPolicy,
  // Runs on the raw entry, before validation: whatever its shape, only `protocol: vnc` is ours.
  claims: (entry) => entrySpeaks(entry, 'vnc'),
  flag: {
    name: 'desktop',
    description: 'serve a desktop, NAME=vnc://HOST:PORT[?password_file=PATH] (repeatable)',
    parse: parseDesktopFlag,
  },
  agent: async (ctx, entries) => (await import('./agent.ts')).startVncAgent(ctx, entries),
});
