// What an app host answers itself, never the app: the launch hand-off page, its POST, logout, and refusals.
import { createHash } from 'node:crypto';

/** The hand-off page's script: posts the URL fragment (never sent to any server by the browser) to its own host. */
const SCRIPT = `const f = new URLSearchParams(location.hash.slice(1));
history.replaceState(null, '', location.pathname);
fetch('/tp-launch', {
  method: 'POST',
  credentials: 'same-origin',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ state: f.get('state') ?? '', value: f.get('value') ?? '', path: f.get('path') ?? '/' }),
}).then(async (r) => {
  if (r.ok) location.replace((await r.json()).path);
  else document.getElementById('m').textContent = await r.text();
});`;

const SCRIPT_HASH = createHash('sha256').update(SCRIPT).digest('base64');

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** One whole HTTP/1.1 answer tp writes on an app host. */
export function answer(
  status: number,
  reason: string,
  body: string,
  o: { type?: string; headers?: [string, string][]; close?: boolean; csp?: string } = {},
): string {
  const headers: [string, string][] = [
    ['Content-Type', o.type ?? 'text/plain; charset=utf-8'],
    ['Content-Length', String(Buffer.byteLength(body))],
    ['Cache-Control', 'no-store'],
    ['Referrer-Policy', 'no-referrer'],
    ['X-Content-Type-Options', 'nosniff'],
    ['Content-Security-Policy', o.csp ?? "default-src 'none'; frame-ancestors 'none'"],
    ...(o.headers ?? []),
  ];
  if (o.close) headers.push(['Connection', 'close']);
  return `HTTP/1.1 ${status} ${reason}\r\n${headers.map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n${body}`;
}

/** A small HTML page with one message (and, for the hand-off, its script). */
function html(title: string, message: string, script = ''): string {
  const s = script ? `<script>${script}</script>` : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body><p id="m">${escapeHtml(message)}</p>${s}</body></html>`;
}

/** The hand-off page (`GET /tp-launch`): only its own script may run, and it may only talk to this host. */
export function launchPage(app: string): string {
  return answer(200, 'OK', html(`Opening ${app}`, `Opening ${app}…`, SCRIPT), {
    type: 'text/html; charset=utf-8',
    csp: `default-src 'none'; script-src 'sha256-${SCRIPT_HASH}'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'`,
  });
}

/** The logout page (`/tp-logout`), clearing the cookie. */
export function loggedOutPage(app: string, clear: string): string {
  return answer(200, 'OK', html(`Logged out of ${app}`, `You have logged out of ${app}.`), {
    type: 'text/html; charset=utf-8',
    headers: [['Set-Cookie', clear]],
  });
}

/** A redirect (to the launcher), with cookies to set. */
export function redirect(location: string, cookies: string[]): string {
  return answer(302, 'Found', `tp: log in at ${location}\n`, {
    headers: [['Location', location], ...cookies.map((c): [string, string] => ['Set-Cookie', c])],
  });
}
