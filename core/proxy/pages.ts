import type { Identity } from '../auth/identity.ts';
import { NotFound } from '../errors.ts';
import { RawResponse } from '../web/json.ts';
import type { Route } from '../web/router.ts';
import { webFile, webScript } from './webAssets.ts';

/**
 * The page policy: scripts only from this origin (no inline script, no eval), connections only back here, no
 * framing. Styles allow inline because xterm.js sets its theme and cell sizes through <style> elements it makes.
 * IronRDP's RDP client is WebAssembly, inlined in its script as a data: URL that it fetches and compiles:
 * `'wasm-unsafe-eval'` lets pages compile WebAssembly (not JavaScript eval), and `data:` in connect-src lets them
 * fetch data: URLs, which carry their bytes in the URL itself (nothing leaves the page). Both are in the one policy
 * because the UI is one document: the RDP view is reached by in-page navigation, under the policy the document
 * was loaded with, so a policy for its URL alone would not apply.
 */
export const UI_HEADERS = {
  'content-security-policy': [
    "default-src 'none'",
    "script-src 'self' 'wasm-unsafe-eval'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "connect-src 'self' data:",
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
      /^\/web\/assets\/([a-z0-9-]{1,40}\.js)$/,
      async ({ params }) => {
        const js = await webScript(params[0]!);
        if (js === undefined) throw new NotFound(`no such script: /web/assets/${params[0]}`);
        return new RawResponse(js, 'text/javascript; charset=utf-8', UI_HEADERS);
      },
    ],
    ['GET', /^\/web\/assets\/app\.css$/, async () => new RawResponse(appCss(), 'text/css; charset=utf-8', UI_HEADERS)],
    [
      'GET',
      /^\/(web\/assets\/)?favicon\.(svg|ico)$/,
      async () => new RawResponse(webFile('favicon.svg'), 'image/svg+xml', UI_HEADERS),
    ],
  ];
}
