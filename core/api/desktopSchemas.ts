import * as v from 'valibot';

/**
 * `GET /webapi/desktops/<name>`: what the page needs before it opens a desktop, from the same gate as the
 * desktop's WebSocket. RDP pages need it (IronRDP owns that socket, so no `ready` frame can tell them); VNC pages
 * may ask too. Like the other schema modules, this one imports nothing but valibot.
 */
export const DesktopInfoSchema = v.object({
  name: v.string(),
  /** `vnc` or `rdp`: which client the page runs. */
  protocol: v.string(),
  /** RDP: `agent` when the agent logs in with configured credentials, `user` when the page must ask for them. */
  credentials: v.optional(v.picklist(['agent', 'user'])),
  /** The roles let the session use the clipboard (the agent enforces it). */
  clipboard: v.boolean(),
  /** The roles let the session only watch (the agent drops input). */
  viewOnly: v.boolean(),
});
export type DesktopInfo = v.InferOutput<typeof DesktopInfoSchema>;
