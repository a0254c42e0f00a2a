// The pieces of a live desktop's page that the VNC and RDP clients share: the status, the screen's controls in the
// bar, the Disconnect/Reconnect button, and the session's message with the notices the roles cause.
import type { RefObject } from 'preact';
import { navigate } from '../router.ts';

/** The session's state in the bar, as the tests and screen readers read it. */
export function DesktopStatus({ status }: { status: string }) {
  return (
    <span class="muted" role="status" data-testid="desktop-status">
      {status}
    </span>
  );
}

/** Full screen (of `frame`), scale to window and Ctrl+Alt+Del; only while `live`, and no Ctrl+Alt+Del when view only. */
export function ScreenControls(p: {
  live: boolean;
  viewOnly: boolean;
  frame: RefObject<HTMLDivElement | null>;
  scale: boolean;
  onScale: (scale: boolean) => void;
  onCtrlAltDel: () => void;
}) {
  return (
    <>
      <button type="button" class="secondary" disabled={!p.live} onClick={() => void p.frame.current?.requestFullscreen()}>
        Full screen
      </button>
      <label class="inline">
        <input type="checkbox" checked={p.scale} onChange={(e) => p.onScale((e.target as HTMLInputElement).checked)} />
        Scale to window
      </label>
      <button type="button" class="secondary" disabled={!p.live || p.viewOnly} onClick={p.onCtrlAltDel}>
        Ctrl+Alt+Del
      </button>
    </>
  );
}

/** Disconnect (back to the Desktops page) while the session runs; Reconnect once it has ended. */
export function EndButton({ ended, reconnect }: { ended: boolean; reconnect: () => void }) {
  if (ended)
    return (
      <button type="button" onClick={reconnect}>
        Reconnect
      </button>
    );
  return (
    <button type="button" class="secondary" onClick={() => navigate('/web/desktops')}>
      Disconnect
    </button>
  );
}

/**
 * The session's message (an error once the session ended for another reason than its plain end), then the notices
 * for a view-only session and for a clipboard the roles turn off.
 */
export function SessionNotices(p: { message: string; ended: boolean; viewOnly: boolean; clipboardOff: boolean }) {
  return (
    <>
      {p.message && (
        <p class={p.ended && p.message !== 'session ended' ? 'error' : 'muted'} role="alert" data-testid="desktop-message">
          {p.message}
        </p>
      )}
      {p.viewOnly && <p class="notice">View only: your roles let you watch this desktop, not use it.</p>}
      {p.clipboardOff && <p class="muted">The clipboard is turned off for this desktop by your roles.</p>}
    </>
  );
}
