import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, type Session, setCsrf, whenExpired } from './api.ts';
import { Account } from './pages/Account.tsx';
import { Audit } from './pages/Audit.tsx';
import { Invite } from './pages/Invite.tsx';
import { Login } from './pages/Login.tsx';
import { Nodes } from './pages/Nodes.tsx';
import { Player } from './pages/Player.tsx';
import { Recordings } from './pages/Recordings.tsx';
import { TerminalGate } from './pages/TerminalGate.tsx';
import { interceptLinks, navigate, useLocation } from './router.ts';

const NAV = [
  ['/web/nodes', 'Servers', () => true],
  ['/web/recordings', 'Recordings', (s: Session) => s.pages?.recordings !== false],
  ['/web/audit', 'Audit log', (s: Session) => s.pages?.audit !== false],
  ['/web/account', 'Account', () => true],
] as const;

function Shell({ session, path, onLogout }: { session: Session; path: string; onLogout: () => void }) {
  return (
    <header class="top">
      <span class="brand">tp</span>
      <nav aria-label="Main">
        {NAV.filter(([, , shown]) => shown(session)).map(([href, label]) => (
          <a key={href} href={href} aria-current={path.startsWith(href) ? 'page' : undefined}>
            {label}
          </a>
        ))}
      </nav>
      <span class="who" data-testid="who">
        {session.user}
      </span>
      <button type="button" class="secondary" onClick={onLogout}>
        Log out
      </button>
    </header>
  );
}

function App() {
  const url = useLocation();
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [notice, setNotice] = useState('');
  const path = url.pathname;

  useEffect(() => {
    whenExpired(() => {
      setSession(null);
      setNotice('Your session has expired. Log in again.');
    });
    api<Session & { loggedIn: boolean }>('GET', '/webapi/sessions/current')
      .then((s) => {
        if (!s.loggedIn) return setSession(null);
        setCsrf(s.csrf);
        setSession(s);
      })
      .catch(() => setSession(null));
  }, []);

  if (path.startsWith('/web/invite/')) return <Invite token={path.split('/').pop() ?? ''} />;
  if (session === undefined) return <p class="loading">Loading…</p>;
  if (session === null || path === '/web/login') {
    return (
      <Login
        notice={notice}
        onLogin={(s) => {
          setCsrf(s.csrf);
          setSession(s);
          setNotice('');
          const next = url.searchParams.get('next');
          navigate(next?.startsWith('/web/') && next !== '/web/login' ? next : '/web/nodes', true);
        }}
      />
    );
  }
  const logout = async () => {
    // An expired session is as good as logged out; anything else is shown on the login page.
    const failed = await api('DELETE', '/webapi/sessions/current').then(
      () => '',
      (err: Error & { status?: number }) => (err.status === 401 ? '' : err.message),
    );
    setSession(null);
    setNotice(failed ? `Logout failed on the proxy: ${failed}` : 'You have logged out.');
    navigate('/web/login', true);
  };
  let page = <Nodes session={session} />;
  if (path.startsWith('/web/terminal')) {
    return (
      <>
        <Shell session={session} path={path} onLogout={logout} />
        <main class="wide">
          <TerminalGate node={url.searchParams.get('node') ?? ''} login={url.searchParams.get('login') ?? ''} />
        </main>
      </>
    );
  }
  if (path.startsWith('/web/recordings/')) page = <Player id={path.split('/').pop() ?? ''} />;
  else if (path.startsWith('/web/recordings')) page = <Recordings />;
  else if (path.startsWith('/web/audit')) page = <Audit />;
  else if (path.startsWith('/web/account')) page = <Account />;
  return (
    <>
      <Shell session={session} path={path} onLogout={logout} />
      <main>{page}</main>
    </>
  );
}

interceptLinks();
if (location.pathname === '/' || location.pathname === '/web' || location.pathname === '/web/') navigate('/web/nodes', true);
render(<App />, document.getElementById('app')!);
