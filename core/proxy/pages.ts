import type { Identity } from '../auth/identity.ts';
import { RawResponse } from '../web/json.ts';
import type { Route } from '../web/router.ts';
import { appJs, webFile } from './webAssets.ts';

/**
 * The page policy: scripts only from this origin (no inline script, no eval), connections only back here, no
 * framing. Styles allow inline because xterm.js sets its theme and cell sizes through <style> elements it makes.
 */
export const UI_HEADERS = {
  'content-security-policy': [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; '),
  'strict-transport-security': 'max-age=31536000',
  'cross-origin-opener-policy': 'same-origin',
};

/** The UI's stylesheet: xterm.js's own rules, then ours. */
const appCss = () => `${webFile('../node_modules/@xterm/xterm/css/xterm.css')}\n${webFile('app.css')}`;

const page = () => new RawResponse(webFile('index.html'), 'text/html; charset=utf-8', UI_HEADERS);

/** The web UI: one page for every /web route (the app routes in the browser), and its assets. */
export function pageRoutes(): Route<Identity>[] {
  return [
    ['GET', /^\/$/, async () => page()],
    ['GET', /^\/web(\/[A-Za-z0-9/_-]*)?$/, async () => page()],
    ['GET', /^\/web\/launch\/[a-z0-9][a-z0-9_.-]{0,62}$/, async () => page()],
    [
      'GET',
      /^\/web\/assets\/app\.js$/,
      async () => new RawResponse(await appJs(), 'text/javascript; charset=utf-8', UI_HEADERS),
    ],
    ['GET', /^\/web\/assets\/app\.css$/, async () => new RawResponse(appCss(), 'text/css; charset=utf-8', UI_HEADERS)],
    [
      'GET',
      /^\/(web\/assets\/)?favicon\.(svg|ico)$/,
      async () => new RawResponse(webFile('favicon.svg'), 'image/svg+xml', UI_HEADERS),
    ],
  ];
}
