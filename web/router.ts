import { useEffect, useState } from 'preact/hooks';

/** Goes to an app path without reloading the page. */
export function navigate(path: string, replace = false): void {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  dispatchEvent(new PopStateEvent('popstate'));
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
