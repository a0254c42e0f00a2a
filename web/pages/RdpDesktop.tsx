import { useEffect, useRef, useState } from 'preact/hooks';
import type { DesktopInfo } from '../../core/api/desktopSchemas.ts';
import { readable } from '../api.ts';
import { desktopRefusal } from '../desktopInfo.ts';
import type { RdpSession } from '../rdpSession.ts';
import { DesktopStatus, EndButton, ScreenControls, SessionNotices } from './DesktopControls.tsx';

type Status = 'login' | 'connecting' | 'connected' | 'ended';

/** The user name and password the desktop asks for (RDP desktops without credentials on the agent). */
function CredentialForm({ name, submit }: { name: string; submit: (username: string, password: string) => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  return (
    <form
      class="card"
      aria-labelledby="rdp-login-title"
      onSubmit={(e) => {
        e.preventDefault();
        submit(username, password);
      }}
    >
      <h2 id="rdp-login-title">Log in to {name}</h2>
      <p class="muted">This desktop asks for its own account. tp passes what you type to it and keeps none of it.</p>
      <label for="rdp-username">User name on the desktop</label>
      <input
        id="rdp-username"
        autocomplete="username"
        required
        value={username}
        onInput={(e) => setUsername((e.target as HTMLInputElement).value)}
      />
      <label for="rdp-password">Password</label>
      <input
        id="rdp-password"
        type="password"
        autocomplete="current-password"
        value={password}
        onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
      />
      <button type="submit">Connect</button>
    </form>
  );
}

/**
 * One RDP desktop session in IronRDP's web component: the credential prompt when the desktop needs one, then the
 * screen with full screen, scaling, Ctrl+Alt+Del, the clipboard (when the roles allow it) and disconnect.
 */
export function RdpDesktop({ info }: { info: DesktopInfo }) {
  const screen = useRef<HTMLDivElement>(null);
  const frame = useRef<HTMLDivElement>(null);
  const [status, setStatus] = useState<Status>(info.credentials === 'user' ? 'login' : 'connecting');
  const [message, setMessage] = useState('');
  const [creds, setCreds] = useState<{ username: string; password: string } | undefined>(
    // The agent logs in with its own account and replaces these.
    info.credentials === 'user' ? undefined : { username: 'tp', password: 'tp' },
  );
  const [session, setSession] = useState<RdpSession | undefined>();
  const [scale, setScale] = useState(true);
  const [copied, setCopied] = useState(false);
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    const host = screen.current;
    if (!host || !creds) return;
    let live: RdpSession | undefined;
    let left = false;
    setStatus('connecting');
    setMessage('');
    /** Why the session ended: the gate's reason when it now refuses (a lock, a role), else IronRDP's. */
    const ended = async (why: string, failed: boolean) => {
      const refusal = await desktopRefusal(info.name, info.credentials === 'user' ? creds.username : undefined);
      if (left) return;
      setSession(undefined);
      setStatus('ended');
      setMessage(refusal ?? (failed ? why : why || 'session ended'));
    };
    void import('../rdpSession.ts')
      .then(({ openRdp }) =>
        openRdp(
          host,
          {
            name: info.name,
            ...creds,
            login: info.credentials === 'user' ? creds.username : undefined,
            clipboard: info.clipboard,
            width: Math.max(640, Math.round(host.clientWidth)),
            height: Math.max(480, Math.round(host.clientHeight)),
          },
          {
            connected: () => setStatus('connected'),
            remoteClipboard: () => setCopied(true),
            warning: () => undefined, // clipboard support notes; the page's own notice covers the clipboard
            ended: (why, failed) => void ended(why, failed),
          },
        ),
      )
      .then(
        (s) => {
          live = s;
          if (left) s.disconnect();
          else setSession(s);
        },
        (err: unknown) => void ended(readable(err), true),
      );
    return () => {
      left = true;
      live?.disconnect();
    };
  }, [info, creds, attempt]);

  useEffect(() => session?.scale(scale ? 'fit' : 'real'), [session, scale]);

  const live = status === 'connected' && session !== undefined;
  return (
    <section class="desktop-page" aria-labelledby="desktop-title">
      <div class="desktop-bar">
        <h1 id="desktop-title">{info.name}</h1>
        <span class="muted">RDP</span>
        <DesktopStatus status={status} />
        <ScreenControls
          live={live}
          viewOnly={info.viewOnly}
          frame={frame}
          scale={scale}
          onScale={setScale}
          onCtrlAltDel={() => session?.ctrlAltDel()}
        />
        {info.clipboard && (
          <>
            <button
              type="button"
              class="secondary"
              disabled={!live}
              onClick={() => void session?.sendClipboard().catch((e: unknown) => setMessage(readable(e)))}
            >
              Send my clipboard
            </button>
            <button
              type="button"
              class="secondary"
              disabled={!live || !copied}
              onClick={() =>
                void session?.saveClipboard().then(
                  () => setCopied(false),
                  (e: unknown) => setMessage(readable(e)),
                )
              }
            >
              Copy the desktop's clipboard
            </button>
          </>
        )}
        <EndButton
          ended={status === 'ended'}
          reconnect={() => (info.credentials === 'user' ? setStatus('login') : setAttempt(attempt + 1))}
        />
      </div>
      <SessionNotices
        message={message}
        ended={status === 'ended'}
        viewOnly={info.viewOnly}
        clipboardOff={!info.clipboard}
      />
      {status === 'login' && (
        <CredentialForm
          name={info.name}
          submit={(username, password) => {
            setStatus('connecting'); // shows the screen first, so the session opens at the size it has
            setCreds({ username, password });
          }}
        />
      )}
      <div class="desktop-frame" ref={frame} hidden={status === 'login'}>
        {/* View only: the screen takes no pointer, key or focus (the agent drops input all the same). */}
        <div class="desktop-screen" inert={info.viewOnly} ref={screen} data-testid="desktop-screen" />
      </div>
    </section>
  );
}
