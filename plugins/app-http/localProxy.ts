// The HTTP side of `tp proxy app`: a local tool's plain HTTP/1.1 connection carried to the app through the proxy,
// with each request addressed to the app's public host (the proxy serves that host only) and the app's redirects to
// its public address pointed back at the local listener. Bodies stream; upgrades (WebSocket) pass through.
import type { Duplex } from 'node:stream';
import { connectionHas, copyBody, formatHead, framingOf, type Head, pipeRest, readHead } from './http1.ts';
import { StreamReader, write } from './reader.ts';

const NO_BODY_STATUS = (s: number) => (s >= 100 && s < 200) || s === 204 || s === 304;

/** Sets header `name` to `value` (replacing every earlier one), keeping the other headers in order. */
function withHeader(h: Head, name: string, value: string): Head {
  const n = name.toLowerCase();
  const at = h.headers.findIndex(([k]) => k.toLowerCase() === n);
  const rest = h.headers.filter(([k]) => k.toLowerCase() !== n);
  rest.splice(at < 0 ? rest.length : at, 0, [name, value]);
  return { start: h.start, headers: rest };
}

/** The head with each value of `name` passed through `f`. */
function mapHeader(h: Head, name: string, f: (v: string) => string): Head {
  const n = name.toLowerCase();
  return { start: h.start, headers: h.headers.map(([k, v]) => [k, k.toLowerCase() === n ? f(v) : v]) };
}

/**
 * Carries one local connection to the app over `remote` until either ends: requests leave with `Host: publicAddr`
 * (and an `Origin` of the local listener as the app's own), answers come back with `Location`s at the app's public
 * address rewritten to `localBase` (`http://127.0.0.1:PORT`). Rejects on a malformed message from either side.
 */
export async function relayLocalHttp(
  local: Duplex,
  remote: Duplex,
  publicAddr: string,
  localBase: string,
): Promise<void> {
  const fromLocal = new StreamReader(local);
  const fromRemote = new StreamReader(remote);
  const publicBase = `https://${publicAddr.replace(/:443$/, '')}`;
  const toLocal = (v: string) =>
    v === publicBase || v.startsWith(`${publicBase}/`) ? localBase + v.slice(publicBase.length) : v;
  const toPublic = (v: string) => (v === localBase ? publicBase : v);
  for (;;) {
    const req = await readHead(fromLocal);
    if (!req) break;
    const reqFraming = framingOf(req, true);
    const out = mapHeader(withHeader(req, 'Host', publicAddr.replace(/:443$/, '')), 'origin', toPublic);
    await write(remote, formatHead(out));
    const sent = copyBody(fromLocal, remote, reqFraming);
    sent.catch(() => undefined);
    let res: Head | null;
    for (;;) {
      res = await readHead(fromRemote);
      if (!res) return;
      const status = Number(res.start[1]);
      if (status === 101 || status < 100 || status >= 200) break;
      await write(local, formatHead(res));
    }
    const status = Number(res.start[1]);
    await write(local, formatHead(mapHeader(res, 'location', toLocal)));
    if (status === 101) {
      await Promise.all([pipeRest(fromLocal, remote), pipeRest(fromRemote, local)]);
      return;
    }
    const framing =
      req.start[0] === 'HEAD' || NO_BODY_STATUS(status) ? { kind: 'none' as const } : framingOf(res, false);
    await copyBody(fromRemote, local, framing);
    await sent;
    if (framing.kind === 'close' || connectionHas(req, 'close') || connectionHas(res, 'close')) break;
  }
}
