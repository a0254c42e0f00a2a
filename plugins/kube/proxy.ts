// The kube plugin's proxy side: which TLS server names are kube's, the cluster a connection asks for (from its SNI),
// and a refusal kubectl can print. The core's generic path does the rest (user certificate, `kubernetes_labels` and
// locks through the gate, the agent dial, bytes both ways).
import type { TLSSocket } from 'node:tls';
import { BadParameter, type TpError } from '../../core/errors.ts';
import type { ProxyRoute } from '../../core/plugin/types.ts';
import { isUpgrade, parseHead } from './http1.ts';
import { isKubeServerName, routeFromSni } from './sni.ts';
import { refusalResponse } from './status.ts';

/**
 * True when `serverName` is `<name>.kube.<cluster>` for this proxy's cluster: the names the proxy's certificate
 * serves for kube (`*.kube.<cluster>`). Names under another suffix are not kube's (an app may own them).
 */
export function ownsServerName(serverName: string, proxy: { cluster: string }): boolean {
  const name = serverName.toLowerCase();
  return isKubeServerName(name) && name.slice(name.indexOf('.kube.') + 6) === proxy.cluster.toLowerCase();
}

/** How long kubectl has to send its first request head, and how big that head may be. */
const FIRST_REQUEST_MS = 10_000;
const MAX_HEAD = 64 * 1024;

/** Whether each connection's first request is an upgrade (exec, port-forward): its refusal must be a JSON Status. */
const upgrading = new WeakMap<TLSSocket, boolean>();

/**
 * Waits for the first request head and returns it, leaving every byte unread (the socket paused, what came
 * unshifted) for the agent; BadParameter when the client sends none in time or ends first.
 */
function peekHead(socket: TLSSocket): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const done = (err?: Error) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.pause();
      if (err) return reject(err);
      socket.unshift(buf);
      resolve(buf.subarray(0, buf.indexOf('\r\n\r\n') + 4).toString('latin1'));
    };
    const timer = setTimeout(
      () => done(new BadParameter(`no HTTP request within ${FIRST_REQUEST_MS / 1000} s`)),
      FIRST_REQUEST_MS,
    );
    const onEnd = () => done(new BadParameter('the connection ended before its first request'));
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.includes('\r\n\r\n')) done();
      else if (buf.length > MAX_HEAD) done(new BadParameter(`the first request head is over ${MAX_HEAD} bytes`));
    };
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
  });
}

/**
 * The route a kube connection asks for: the cluster its server name names. The first request head is read (and
 * left for the agent) only to know whether a refusal must answer an upgrade.
 */
export async function acceptKube(socket: TLSSocket): Promise<ProxyRoute> {
  const route = routeFromSni(socket.servername);
  const head = await peekHead(socket);
  upgrading.set(socket, isUpgrade(parseHead(head.slice(0, -4))));
  return route;
}

/**
 * Answers kubectl's first request with the refusal (403, 401, 502 ... with tp's reason, as text or, for an upgrade,
 * a `metav1.Status`; `Connection: close`); the core ends the socket.
 */
export function refuseKube(socket: TLSSocket, err: TpError): void {
  if (!socket.destroyed) socket.write(refusalResponse(err, upgrading.get(socket)));
}
