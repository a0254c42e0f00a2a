import { render } from 'preact';
import { useEffect, useLayoutEffect, useState } from 'preact/hooks';
import { CurrentSessionSchema } from '../core/api/webSchemas.ts';
import { api, apiOf, type Session, setCsrf, whenExpired } from './api.ts';
import { Account } from './pages/Account.tsx';
import { Applications } from './pages/Applications.tsx';
import { Audit } from './pages/Audit.tsx';
import { Databases } from './pages/Databases.tsx';
import { Desktop } from './pages/Desktop.tsx';
import { Desktops } from './pages/Desktops.tsx';
import { Invite } from './pages/Invite.tsx';
import { Kubernetes } from './pages/Kubernetes.tsx';
import { Launch } from './pages/Launch.tsx';
import { Login } from './pages/Login.tsx';
import { Nodes } from './pages/Nodes.tsx';
import { Player } from './pages/Player.tsx';
import { Recordings } from './pages/Recordings.tsx';
import { TerminalGate } from './pages/TerminalGate.tsx';
import { interceptLinks, navigate, useLocation } from './router.ts';

const NAV = [
  ['/web/nodes', 'Servers', () => true],
  ['/web/databases', 'Databases', (s: Session) => s.pages?.databases !== false],
  ['/web/kube', 'Kubernetes', (s: Session) => s.pages?.kube === true],
  ['/web/apps', 'Applications', (s: Session) => s.pages?.apps === true],
  ['/web/desktops', 'Desktops', (s: Session) => s.pages?.desktops === true],
  ['/web/recordings', 'Recordings', (s: Session) => s.pages?.recordings !== false],
  ['/web/audit', 'Audit log', (s: Session) => s.pages?.audit !== false],
  ['/web/account', 'Account', () => true],
] as const;

/** The header: brand, main navigation, who is logged in; below 720 px the navigation folds behind a Menu button. */
function Shell({ session, path, onLogout }: { session: Session; path: string; onLogout: () => void }) {
  const [open, setOpen] = useState(false);
  // Going to another page folds the menu again.
  useEffect(() => setOpen(false), [path]);
  return (
    <header class="top">
      <span class="brand">tp</span>
      <button
        type="button"
        class="secondary menu-toggle"
        aria-expanded={open}
        aria-controls="top-menu"
        onClick={() => setOpen(!open)}
      >
        Menu
      </button>
      <div id="top-menu" class={`top-menu${open ? ' open' : ''}`}>
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
      </div>
    </header>
  );
}

/** The page shown for an address the app does not have. */
function NotFound({ path }: { path: string }) {
  return (
    <section aria-labelledby="nf-title" class="card center stack">
      <h1 id="nf-title">Page not found</h1>
      <p>
        There is no page at <code>{path}</code>.
      </p>
      <p>
        <a href="/web/nodes">Go to the servers</a>
      </p>
    </section>
  );
}

/** The view an app path shows, and its title (the part before "· tp"). */
function viewOf(path: string): {
  title: string;
  page?: 'nodes' | 'databases' | 'kube' | 'apps' | 'desktops' | 'player' | 'recordings' | 'audit' | 'account';
} {
  if (path === '/web/nodes') return { title: 'Servers', page: 'nodes' };
  if (path === '/web/databases') return { title: 'Databases', page: 'databases' };
  if (path === '/web/kube') return { title: 'Kubernetes', page: 'kube' };
  if (path === '/web/apps') return { title: 'Applications', page: 'apps' };
  if (path === '/web/desktops') return { title: 'Desktops', page: 'desktops' };
  if (/^\/web\/recordings\/[0-9a-f-]{36}$/.test(path)) return { title: 'Recording', page: 'player' };
  if (path === '/web/recordings') return { title: 'Recordings', page: 'recordings' };
  if (path === '/web/audit') return { title: 'Audit log', page: 'audit' };
  if (path === '/web/account') return { title: 'Account', page: 'account' };
  return { title: 'Page not found' };
}

/** The desktop a `/web/desktops/<name>` path opens, if it is one. */
function desktopOf(path: string): string | undefined {
  return /^\/web\/desktops\/([a-z0-9][a-z0-9_.-]{0,62})$/.exec(path)?.[1];
}

/** Sets the window title of the current view (with the page drawn, before it is shown). */
function useTitle(title: string): void {
  useLayoutEffect(() => {
    document.title = `${title} · tp`;
  }, [title]);
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
    apiOf(CurrentSessionSchema, 'GET', '/webapi/sessions/current')
      .then((s) => {
        if (!s.loggedIn) return setSession(null);
        setCsrf(s.csrf);
        setSession(s);
      })
      .catch(() => setSession(null));
  }, []);

  let title = viewOf(path).title;
  if (path.startsWith('/web/invite/')) title = 'Sign up';
  else if (session === null || path === '/web/login') title = 'Log in';
  else if (path.startsWith('/web/launch/')) title = 'Opening app';
  else if (path.startsWith('/web/terminal')) {
    const q = url.searchParams;
    title = `${q.get('login') ?? ''}@${q.get('name') ?? q.get('node') ?? ''}`;
  } else if (desktopOf(path)) title = `Desktop ${desktopOf(path)}`;
  useTitle(session === undefined && !path.startsWith('/web/invite/') ? 'Loading' : title);

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
          // A launch goes on where it was once the user has logged in (its state is in the query).
          const next = path.startsWith('/web/launch/') ? `${path}${url.search}` : url.searchParams.get('next');
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
  if (path.startsWith('/web/launch/')) {
    return (
      <main>
        <Launch app={decodeURIComponent(path.slice('/web/launch/'.length))} url={url} />
      </main>
    );
  }
  if (path.startsWith('/web/terminal')) {
    return (
      <div class="term-layout">
        <Shell session={session} path={path} onLogout={logout} />
        <main class="wide">
          <TerminalGate node={url.searchParams.get('node') ?? ''} login={url.searchParams.get('login') ?? ''} />
        </main>
      </div>
    );
  }
  const desktop = desktopOf(path);
  if (desktop) {
    return (
      <div class="term-layout">
        <Shell session={session} path={path} onLogout={logout} />
        <main class="wide">
          <Desktop name={desktop} />
        </main>
      </div>
    );
  }
  const v = viewOf(path);
  let page = <NotFound path={path} />;
  if (v.page === 'nodes') page = <Nodes session={session} url={url} />;
  else if (v.page === 'databases') page = <Databases url={url} />;
  else if (v.page === 'kube') page = <Kubernetes url={url} />;
  else if (v.page === 'apps') page = <Applications url={url} />;
  else if (v.page === 'desktops') page = <Desktops url={url} />;
  else if (v.page === 'player') {
    const t = url.searchParams.get('t');
    page = <Player id={path.split('/').pop() ?? ''} startAt={t === null ? undefined : Number(t) * 1000} />;
  }
  else if (v.page === 'recordings') page = <Recordings />;
  else if (v.page === 'audit') page = <Audit canPlay={session.pages?.recordings !== false} />;
  else if (v.page === 'account') page = <Account />;
  return (
    <>
      <Shell session={session} path={path} onLogout={logout} />
      <main>{page}</main>
    </>
  );
}

interceptLinks();
if (location.pathname === '/' || location.pathname === '/web' || location.pathname === '/web/') navigate('/web/nodes', true);
// The page's static "Loading…" goes before the app draws (Preact would keep it beside a page of another shape).
const root = document.getElementById('app')!;
root.replaceChildren();
render(<App />, root);
