// The kube plugin's proxy side: which TLS server names are kube's, the cluster a connection asks for (from its SNI),
// and a refusal kubectl can print. The core's generic path does the rest (user certificate, `kubernetes_labels` and
// locks through the gate, the agent dial, bytes both ways).
import type { TLSSocket } from 'node:tls';
import type { TpError } from '../../core/errors.ts';
import type { ProxyRoute } from '../../core/plugin/types.ts';
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

/** The route a kube connection asks for: the cluster its server name names (nothing is read from the socket). */
export async function acceptKube(socket: TLSSocket): Promise<ProxyRoute> {
  return routeFromSni(socket.servername);
}

/**
 * Answers kubectl's first request with the refusal as the API server would (403 Forbidden, 401 Unauthorized, 503
 * ServiceUnavailable ... with tp's reason in a `metav1.Status`, `Connection: close`); the core ends the socket.
 */
export function refuseKube(socket: TLSSocket, err: TpError): void {
  if (!socket.destroyed) socket.write(refusalResponse(err));
}
