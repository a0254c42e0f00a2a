// The launch hand-off on an app host (`/tp-launch`): the page that posts the URL fragment, and that POST, which turns
// a launch whose state matches this browser's state cookie into the host's app session cookie.
import { timingSafeEqual } from 'node:crypto';
import * as v from 'valibot';
import { type StoredAppSession, StoredAppSessionSchema } from '../../core/api/appSessionSchemas.ts';
import { parseAnswer } from '../../core/api/client.ts';
import { describe, statusOf, TpError } from '../../core/errors.ts';
import type { ProxyPluginContext, ResourceRecord } from '../../core/plugin/types.ts';
import { STATE, safeAppPath, sha256 } from '../../core/proxy/appLaunch.ts';
import { APP_SESSION_COOKIE, APP_STATE_COOKIE, cookieIn, hostCookie, tokenHash } from './appSessions.ts';
import { answer, launchPage } from './hostPages.ts';
import { type Framing, type Head, values } from './http1.ts';
import type { StreamReader } from './reader.ts';

const HandOff = v.object({ state: v.string(), value: v.string(), path: v.optional(v.string()) });
const hostOnly = (addr: string) => addr.replace(/:\d+$/, '').toLowerCase();

/**
 * `GET /tp-launch`: the hand-off page. `POST /tp-launch {state, value, path}` from that page (same origin, JSON):
 * the state must be the one this host set as a cookie, and auth activates the session once; the answer sets the
 * app session cookie, clears the state and names the path to go on to.
 */
export async function handOff(
  req: Head,
  framing: Framing,
  fromClient: StreamReader,
  ctx: ProxyPluginContext,
  app: ResourceRecord,
  publicAddr: string,
  now: number,
): Promise<string> {
  if (req.start[0] === 'GET' || req.start[0] === 'HEAD') return launchPage(app.name);
  if (req.start[0] !== 'POST') return answer(405, 'Method Not Allowed', 'tp: GET or POST\n', { close: true });
  if (framing.kind !== 'length' || framing.n > 8192)
    return answer(400, 'Bad Request', 'tp: a small JSON body is expected\n', { close: true });
  const chunks: Buffer[] = [];
  for (let left = framing.n; left > 0; ) {
    const b = await fromClient.some(left);
    if (!b) return answer(400, 'Bad Request', 'tp: the body ended early\n', { close: true });
    chunks.push(b);
    left -= b.length;
  }
  const refuse = (why: string) =>
    answer(403, 'Forbidden', `tp: ${why}\n`, { headers: [['Set-Cookie', hostCookie(APP_STATE_COOKIE, '', 0)]] });
  const origin = values(req, 'origin');
  if (origin.length !== 1 || origin[0] !== `https://${publicAddr}`)
    return refuse("the launch must come from this app's own page");
  if (!values(req, 'content-type').some((t) => t.split(';')[0]!.trim().toLowerCase() === 'application/json'))
    return refuse('the launch is posted as JSON');
  let body: v.InferOutput<typeof HandOff>;
  try {
    body = v.parse(HandOff, JSON.parse(Buffer.concat(chunks).toString('utf8')));
  } catch {
    return answer(400, 'Bad Request', 'tp: a malformed launch\n');
  }
  const cookie = cookieIn(values(req, 'cookie'), APP_STATE_COOKIE) ?? '';
  const a = Buffer.from(cookie);
  const b = Buffer.from(body.state);
  if (!STATE.test(body.state) || a.length !== b.length || !timingSafeEqual(a, b))
    return refuse('this launch was not started in this browser (its state does not match): open the app again');
  if (!/^[A-Za-z0-9_-]{43}$/.test(body.value)) return refuse('a malformed launch');
  let s: StoredAppSession;
  try {
    s = await ctx.call(
      'POST',
      `/v1/app_sessions/${tokenHash(body.value)}/activate`,
      { stateHash: sha256(body.state) },
      (j) => parseAnswer(StoredAppSessionSchema, j, 'POST /v1/app_sessions/activate'),
    );
  } catch (err) {
    if (err instanceof TpError && statusOf(err) < 500) return refuse(describe(err));
    throw err;
  }
  if (s.app !== app.name || hostOnly(s.publicAddr) !== hostOnly(publicAddr))
    return refuse(`this launch is for app "${s.app}"`);
  return answer(200, 'OK', JSON.stringify({ path: safeAppPath(body.path) }), {
    type: 'application/json',
    headers: [
      ['Set-Cookie', hostCookie(APP_SESSION_COOKIE, body.value, s.expires - now)],
      ['Set-Cookie', hostCookie(APP_STATE_COOKIE, '', 0)],
    ],
  });
}
