import type RFB from '@novnc/novnc';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { DesktopInfo } from '../../core/api/desktopSchemas.ts';
import { readable } from '../api.ts';
import { desktopInfo } from '../desktopInfo.ts';
import { type DesktopReady, openDesktop } from '../desktopSession.ts';
import { appState, navigate } from '../router.ts';
import { DesktopStatus, EndButton, ScreenControls, SessionNotices } from './DesktopControls.tsx';
import { RdpDesktop } from './RdpDesktop.tsx';

type Status = 'connecting' | 'connected' | 'ended';

/** The clipboard panel: what the desktop copied, and text to paste into it (only when the roles allow it). */
function ClipboardPanel({ rfb, fromDesktop }: { rfb: RFB; fromDesktop: string }) {
  const [text, setText] = useState('');
  useEffect(() => setText(fromDesktop), [fromDesktop]);
  return (
    <details class="desktop-clip">
      <summary>Clipboard</summary>
      <label for="desktop-clip-text">Text on the desktop's clipboard; edit it and send it to paste on the desktop</label>
      <textarea id="desktop-clip-text" rows={3} value={text} onInput={(e) => setText((e.target as HTMLTextAreaElement).value)} />
      <div class="row">
        <button type="button" class="secondary" onClick={() => rfb.clipboardPasteFrom(text)}>
          Send to desktop
        </button>
        <button
          type="button"
          class="secondary"
          onClick={() =>
            // Refused (no clipboard permission): the text box still works by hand.
            void navigator.clipboard.readText().then(
              (t) => {
                setText(t);
                rfb.clipboardPasteFrom(t);
              },
              () => undefined,
            )
          }
        >
          Paste my clipboard
        </button>
      </div>
    </details>
  );
}

/** One live desktop session: the screen noVNC draws, full screen, scaling, Ctrl+Alt+Del, the clipboard. */
function DesktopScreen({ name }: { name: string }) {
  const screen = useRef<HTMLDivElement>(null);
  const frame = useRef<HTMLDivElement>(null);
  const [status, setStatus] = useState<Status>('connecting');
  const [message, setMessage] = useState('');
  const [ready, setReady] = useState<{ r: DesktopReady; rfb: RFB } | undefined>();
  const [scale, setScale] = useState(true);
  const [copied, setCopied] = useState('');
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    if (!screen.current) return;
    setStatus('connecting');
    setMessage('');
    const close = openDesktop(name, screen.current, {
      ready: (r, rfb) => setReady({ r, rfb }),
      connected: () => setStatus('connected'),
      clipboard: (text) => {
        setCopied(text);
        // Best effort: the page may not hold clipboard permission; the panel shows the text either way.
        void navigator.clipboard?.writeText(text).catch(() => undefined);
      },
      ended: (why) => {
        setStatus('ended');
        setMessage(why);
      },
    });
    return close;
  }, [name, attempt]);

  useEffect(() => {
    if (ready) ready.rfb.scaleViewport = scale;
  }, [ready, scale]);

  const live = status === 'connected' && ready !== undefined;
  return (
    <section class="desktop-page" aria-labelledby="desktop-title">
      <div class="desktop-bar">
        <h1 id="desktop-title">{name}</h1>
        <DesktopStatus status={status} />
        {ready && (
          <span class="muted">
            session <code data-testid="desktop-session">{ready.r.sessionId}</code>
          </span>
        )}
        <ScreenControls
          live={live}
          viewOnly={ready?.r.viewOnly === true}
          frame={frame}
          scale={scale}
          onScale={setScale}
          onCtrlAltDel={() => ready?.rfb.sendCtrlAltDel()}
        />
        <EndButton ended={status === 'ended'} reconnect={() => setAttempt(attempt + 1)} />
      </div>
      <SessionNotices
        message={message}
        ended={status === 'ended'}
        viewOnly={ready?.r.viewOnly === true}
        clipboardOff={ready !== undefined && !ready.r.clipboard}
      />
      {ready?.r.clipboard && live && <ClipboardPanel rfb={ready.rfb} fromDesktop={copied} />}
      <div class="desktop-frame" ref={frame}>
        <div class="desktop-screen" ref={screen} data-testid="desktop-screen" />
      </div>
    </section>
  );
}

/** Asks the proxy what the desktop speaks (and whether this session may open it), then runs its client. */
function DesktopByProtocol({ name }: { name: string }) {
  const [info, setInfo] = useState<DesktopInfo | undefined>();
  const [refusal, setRefusal] = useState('');
  useEffect(() => {
    desktopInfo(name).then(setInfo, (err: unknown) => setRefusal(readable(err)));
  }, [name]);
  if (info?.protocol === 'rdp') return <RdpDesktop info={info} />;
  if (info) return <DesktopScreen name={name} />;
  return (
    <section class="desktop-page" aria-labelledby="desktop-title">
      <div class="desktop-bar">
        <h1 id="desktop-title">{name}</h1>
        <DesktopStatus status={refusal ? 'ended' : 'connecting'} />
        <button type="button" class="secondary" onClick={() => navigate('/web/desktops')}>
          Back to desktops
        </button>
      </div>
      {refusal && (
        <p class="error" role="alert" data-testid="desktop-message">
          {refusal}
        </p>
      )}
    </section>
  );
}

/**
 * Opens a desktop only when the person asked for it: straight away from the Desktops page's Connect button, after
 * a confirmation when the page came from a link (which anyone could have sent).
 */
export function Desktop({ name }: { name: string }) {
  const [confirmed, setConfirmed] = useState(() => appState().desktopFromApp === true);
  if (confirmed) return <DesktopByProtocol key={name} name={name} />;
  return (
    <section class="card center" aria-labelledby="gate-title">
      <h1 id="gate-title">Open desktop {name}?</h1>
      <p class="muted">
        This page was opened from a link. Continue only if you meant to start this session: it is recorded, and what you
        do there happens on that desktop.
      </p>
      <div class="row">
        <button type="button" onClick={() => setConfirmed(true)}>
          Open the desktop
        </button>
        <button type="button" class="secondary" onClick={() => navigate('/web/desktops')}>
          Cancel
        </button>
      </div>
    </section>
  );
}
