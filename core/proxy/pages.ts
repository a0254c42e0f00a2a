import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Identity } from '../auth/identity.ts';
import { RawResponse } from '../web/json.ts';
import type { Route } from '../web/router.ts';

const dir = join(import.meta.dir, 'pages');
const cache = new Map<string, string>();
const file = (name: string) => {
  let text = cache.get(name);
  if (text === undefined) {
    text = readFileSync(join(dir, name), 'utf8');
    cache.set(name, text);
  }
  return text;
};

/**
 * The proxy's few pages: the sign-up page behind the one-time link `tp users add` prints (the full web UI is its
 * own piece of work). Served with a strict CSP and no referrer, so the token in the URL stays on the page.
 */
export function pageRoutes(): Route<Identity>[] {
  return [
    [
      'GET',
      /^\/web\/invite\/[A-Za-z0-9_-]{20,64}$/,
      async () => new RawResponse(file('invite.html'), 'text/html; charset=utf-8'),
    ],
    [
      'GET',
      /^\/web\/assets\/invite\.js$/,
      async () => new RawResponse(file('invite.js'), 'text/javascript; charset=utf-8'),
    ],
    ['GET', /^\/web\/assets\/page\.css$/, async () => new RawResponse(file('page.css'), 'text/css; charset=utf-8')],
  ];
}
