import { useEffect, useState } from 'preact/hooks';

/**
 * Goes to an app path without reloading the page. `state` rides along in the history entry: only the app's own
 * code can set it (a link from elsewhere arrives with none), so pages use it to tell in-app actions from links.
 */
export function navigate(path: string, replace = false, state: AppState | null = null): void {
  if (replace) history.replaceState(state, '', path);
  else history.pushState(state, '', path);
  dispatchEvent(new PopStateEvent('popstate'));
}

/** What in-app navigation may carry in the history entry. */
export interface AppState {
  /** Set by the Connect button: the person asked for this terminal inside the app. */
  terminalFromApp?: boolean;
  /** Set by the Desktops page's Connect button: the person asked for this desktop inside the app. */
  desktopFromApp?: boolean;
}

/** The current history entry's app state (empty for a page opened from a link or typed in). */
export function appState(): AppState {
  const s = history.state as AppState | null;
  return s && typeof s === 'object' ? s : {};
}

/** The current path and query, updated on navigation. */
export function useLocation(): URL {
  const [url, setUrl] = useState(() => new URL(location.href));
  useEffect(() => {
    const on = () => setUrl(new URL(location.href));
    addEventListener('popstate', on);
    return () => removeEventListener('popstate', on);
  }, []);
  return url;
}

/** Turns clicks on same-origin links into app navigation. */
export function interceptLinks(): void {
  document.addEventListener('click', (e) => {
    const a = (e.target as Element | null)?.closest?.('a');
    if (!a || a.target || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
    const href = a.getAttribute('href');
    if (!href || !(href === '/web' || href.startsWith('/web/'))) return;
    e.preventDefault();
    navigate(href);
  });
}
