import { FitAddon } from '@xterm/addon-fit';
import { Terminal as XTerm } from '@xterm/xterm';
import { useEffect, useRef, useState } from 'preact/hooks';
import { readable } from '../api.ts';
import { FileTransfer } from '../fileTransfer.tsx';

/**
 * A live shell on a node in the browser: xterm.js over a WebSocket to the proxy, which opens SSH as this user. An
 * inactive one (a background tab) keeps its session and is refitted when shown again; `onClose` adds a button that
 * ends the session. Upload and Download move files to and from the same server as the same login (over SFTP).
 */
export function Terminal({
  node,
  login,
  name: shownName,
  active = true,
  onClose,
}: {
  node: string;
  login: string;
  name?: string;
  active?: boolean;
  onClose?: () => void;
}) {
  const box = useRef<HTMLDivElement>(null);
  const live = useRef<{ fit: FitAddon; term: XTerm } | undefined>(undefined);
  const [status, setStatus] = useState('Connecting…');
  const [failed, setFailed] = useState(false);
  const [ended, setEnded] = useState(false);
  // The session's ID on the node (its audit events and recording carry it), for support.
  const [sessionId, setSessionId] = useState('');
  const [copied, setCopied] = useState(false);
  // Each Reconnect opens a new session on the same server as the same login.
  const [attempt, setAttempt] = useState(0);
  const name = shownName ?? new URLSearchParams(location.search).get('name') ?? node;

  useEffect(() => {
    setEnded(false);
    setFailed(false);
    setStatus('Connecting…');
    setSessionId('');
    setCopied(false);
    const term = new XTerm({
      cursorBlink: true,
      fontFamily: 'ui-monospace, Menlo, Consolas, monospace',
      fontSize: 14,
      theme: { background: '#10141c' },
    });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(box.current!);
    fit.fit();
    live.current = { fit, term };
    const params = new URLSearchParams({ node, login, cols: String(term.cols), rows: String(term.rows) });
    const ws = new WebSocket(`wss://${location.host}/webapi/ui/terminal?${params}`);
    ws.binaryType = 'arraybuffer';
    const enc = new TextEncoder();
    const send = (text: string) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(enc.encode(text));
    };
    ws.onmessage = (ev) => {
      if (typeof ev.data !== 'string') {
        term.write(new Uint8Array(ev.data as ArrayBuffer));
        return;
      }
      const msg = JSON.parse(ev.data) as { type: string; message?: string; node?: string; login?: string; sessionId?: string };
      if (msg.type === 'ready') {
        setSessionId(msg.sessionId ?? '');
        setStatus(`Connected to ${msg.node} as ${msg.login}. Ctrl+Shift+C copies, Ctrl+Shift+V pastes.`);
        term.focus();
      }
      if (msg.type === 'error') {
        setFailed(true);
        setStatus(readable(new Error(msg.message ?? 'the session failed')));
      }
    };
    ws.onclose = (ev) => {
      setEnded(true);
      setStatus((s) => (ev.code === 1000 ? 'Session ended.' : s.startsWith('Connect') ? `Disconnected (${ev.reason || ev.code}).` : s));
    };
    term.onData(send);
    term.attachCustomKeyEventHandler((e) => {
      if (e.type !== 'keydown' || !e.ctrlKey || !e.shiftKey) return true;
      if (e.code === 'KeyC' && term.hasSelection()) {
        void navigator.clipboard.writeText(term.getSelection());
        return false;
      }
      // Ctrl+Shift+V is the browser's own paste (as plain text), which xterm.js receives as a paste event; the
      // terminal must only not send it as a key.
      if (e.code === 'KeyV') return false;
      return true;
    });
    term.onResize(({ cols, rows }) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'resize', cols, rows }));
    });
    const onResize = () => fit.fit();
    addEventListener('resize', onResize);
    return () => {
      removeEventListener('resize', onResize);
      ws.close();
      term.dispose();
    };
  }, [node, login, attempt]);

  useEffect(() => {
    if (!active || !live.current) return;
    live.current.fit.fit();
    live.current.term.focus();
  }, [active]);

  return (
    <section aria-label={`Terminal on ${name}`} class="term-page">
      <div class="term-bar">
        <strong>
          {login}@{name}
        </strong>
        <span class={failed ? 'error' : 'muted'} role="status" data-testid="term-status">
          {status}
        </span>
        {sessionId && (
          <span class="muted">
            Session <code data-testid="session-id">{sessionId}</code>{' '}
            <button
              type="button"
              class="secondary"
              onClick={() =>
                // Refused (no clipboard permission): the ID stays on screen to copy by hand.
                void navigator.clipboard.writeText(sessionId).then(
                  () => setCopied(true),
                  () => setCopied(false),
                )
              }
            >
              {copied ? 'Copied' : 'Copy session ID'}
            </button>
          </span>
        )}
        <FileTransfer target={{ node, login }} name={name} />
        {ended && (
          <button type="button" onClick={() => setAttempt(attempt + 1)}>
            Reconnect
          </button>
        )}
        {onClose && (
          <button type="button" class="secondary" onClick={onClose}>
            Close tab
          </button>
        )}
      </div>
      <div class="term-wrap" ref={box} data-testid="terminal" />
    </section>
  );
}
