// IronRDP's browser client: this module (with the 6 MB RDP backend, its WASM inlined) is loaded only by the RDP
// desktop view, as a chunk of its own (see core/proxy/webAssets.ts).
import '@devolutions/iron-remote-desktop'; // defines <iron-remote-desktop>
import type { IronError, UserInteraction } from '@devolutions/iron-remote-desktop';
import { Backend, displayControl, init } from '@devolutions/iron-remote-desktop-rdp';

/** How the page opens one RDP desktop. */
export interface RdpOptions {
  /** The desktop's name: the proxy's WebSocket path, and IronRDP's destination (the agent ignores it). */
  name: string;
  /** The RDP user name and password; placeholders when the agent logs in with its own credentials. */
  username: string;
  password: string;
  /** Passed to the proxy as `?login=`, for the roles' desktop_logins (the user's typed name). */
  login?: string;
  clipboard: boolean;
  width: number;
  height: number;
}

/** What an RDP session tells the page. */
export interface RdpEvents {
  /** The RDP connection is up and the screen draws. */
  connected(size: { width: number; height: number }): void;
  /** The desktop copied something (manual clipboard: the page offers to copy it locally). */
  remoteClipboard(): void;
  /** IronRDP's warnings (clipboard support and the like). */
  warning(message: string): void;
  /** The session ended: IronRDP's reason; `failed` when it was an error rather than a normal end. */
  ended(message: string, failed: boolean): void;
}

/** A live RDP session, as the page drives it. */
export interface RdpSession {
  ctrlAltDel(): void;
  /** Scales the screen to the window (`fit`) or shows it at its real size (`real`, with scroll bars). */
  scale(mode: 'fit' | 'real'): void;
  /** Sends the browser's clipboard to the desktop (reads it: needs the person's gesture and permission). */
  sendClipboard(): Promise<void>;
  /** Writes the desktop's last copied data into the browser's clipboard. */
  saveClipboard(): Promise<void>;
  disconnect(): void;
}

let ready: Promise<void> | undefined;
/** Loads IronRDP's WASM once per page. */
const loadWasm = () => {
  ready ??= init('WARN');
  return ready;
};

const SCALE = { fit: 1, real: 3 } as const;

/** An IronRDP error (connect or run) as a sentence for the person; anything else by its message. */
export function rdpErrorText(err: unknown): string {
  const e = err as Partial<IronError> | undefined;
  if (e && typeof e.kind === 'function' && typeof e.backtrace === 'function') {
    const detail = e.backtrace().split('\n')[0] ?? '';
    // IronErrorKind's values (the package declares the enum but does not export it at run time).
    switch (e.kind()) {
      case 1: // WrongPassword
      case 2: // LogonFailure
        return `the desktop refused the user name or password (${detail})`;
      case 3: // AccessDenied
        return `the desktop denied access (${detail})`;
      case 4: {
        // RDCleanPath: the agent's error PDU, which carries codes only
        const d = e.rdcleanpathDetails?.();
        const code = d?.httpStatusCode ?? d?.wsaErrorCode ?? d?.tlsAlertCode;
        return `the agent could not reach the desktop${code === undefined ? '' : ` (code ${code})`}: ${detail}`;
      }
      case 5: // ProxyConnect
        return `the connection through the proxy failed: ${detail}`;
      case 6: // NegotiationFailure
        return `the desktop and the browser found no common security protocol: ${detail}`;
      default:
        return detail || 'the RDP session failed';
    }
  }
  return err instanceof Error ? err.message : String(err);
}

/**
 * Waits for the web component to set up its clipboard: on mount it awaits its own start-up, then asks the browser
 * for the clipboard-read permission, and only after that answer registers the clipboard with the session; a session
 * connected before that has no clipboard channel (xrdp then says "Clipboard is unavailable" for its whole life).
 * Our `ready` handler can ask before the component does, so one question may be answered first: the second is
 * asked after the component's and, the browser answering in order, is answered after it.
 */
async function clipboardSettled(): Promise<void> {
  for (let i = 0; i < 2; i++)
    await navigator.permissions?.query({ name: 'clipboard-read' as PermissionName }).catch(() => undefined);
  await new Promise((resolve) => setTimeout(resolve, 0));
}

/** Waits for the web component's `ready` event: it hands over the session API. */
function mount(host: HTMLElement): Promise<{ el: HTMLElement; ui: UserInteraction }> {
  return new Promise((resolve) => {
    const el = document.createElement('iron-remote-desktop') as HTMLElement & { module: unknown };
    el.module = Backend; // read when the component mounts: set before it joins the page
    el.setAttribute('scale', 'fit');
    el.setAttribute('flexcenter', 'true');
    el.setAttribute('verbose', 'false');
    el.addEventListener(
      'ready',
      (e) => resolve({ el, ui: (e as CustomEvent<{ irgUserInteraction: UserInteraction }>).detail.irgUserInteraction }),
      { once: true },
    );
    host.replaceChildren(el);
  });
}

/**
 * Opens RDP desktop `o.name` in `host` through the proxy's WebSocket (IronRDP speaks RDCleanPath to the agent,
 * then RDP). Resolves once the connection is up; rejects with a readable message when it cannot be.
 */
export async function openRdp(host: HTMLElement, o: RdpOptions, ev: RdpEvents): Promise<RdpSession> {
  await loadWasm();
  const { el, ui } = await mount(host);
  ui.setEnableClipboard(o.clipboard);
  // Manual clipboard: the page moves data on the person's click only (no polling of the browser's clipboard).
  ui.setEnableAutoClipboard(false);
  ui.onWarningCallback((w) => ev.warning(w));
  ui.onClipboardRemoteUpdateCallback(() => ev.remoteClipboard());
  if (o.clipboard) await clipboardSettled();
  const query = new URLSearchParams({ rdp: '1', ...(o.login ? { login: o.login } : {}) });
  const config = ui
    .configBuilder()
    .withUsername(o.username)
    .withPassword(o.password)
    .withDestination(o.name)
    .withProxyAddress(`wss://${location.host}/webapi/desktops/${encodeURIComponent(o.name)}/connect?${query}`)
    // The proxy authenticates the page by its session cookie; IronRDP wants a token all the same.
    .withAuthToken('tp-web-session')
    .withDesktopSize({ width: o.width, height: o.height })
    .withExtension(displayControl(true))
    .build();
  let info: Awaited<ReturnType<UserInteraction['connect']>>;
  try {
    info = await ui.connect(config);
  } catch (err) {
    el.remove();
    throw new Error(rdpErrorText(err));
  }
  ui.setVisibility(true);
  ev.connected(info.initialDesktopSize);
  info.run().then(
    (t) => ev.ended(t.reason() || 'session ended', false),
    (err: unknown) => ev.ended(rdpErrorText(err), true),
  );
  return {
    ctrlAltDel: () => ui.ctrlAltDel(),
    scale: (mode) => ui.setScale(SCALE[mode] as Parameters<UserInteraction['setScale']>[0]),
    sendClipboard: () => ui.sendClipboardData(),
    saveClipboard: () => ui.saveRemoteClipboardData(),
    disconnect: () => ui.shutdown(),
  };
}
