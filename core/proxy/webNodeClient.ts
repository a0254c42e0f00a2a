import type { Client } from 'ssh2';
import type { NodeRecord } from '../auth/nodes.ts';
import { parseAuthorizedKey } from '../crypto/keys.ts';
import { connectNode } from '../ssh/nodeClient.ts';
import { SSH_SERVICE } from '../ssh/service.ts';
import type { AccessGate, AccessRequest } from './accessGate.ts';
import type { ClusterView } from './clusterView.ts';
import { type DialTls, dialAgent } from './dial.ts';
import type { TunnelRegistry } from './tunnels.ts';
import type { WebSession } from './webSessions.ts';

/** What the proxy needs to reach a node for a browser: the gate, the cluster's CAs and the ways to dial. */
export interface WebNodeDeps {
  view: ClusterView;
  gate: AccessGate;
  tunnels: TunnelRegistry;
  dialTls: DialTls;
}

/**
 * An SSH connection to the node `access` names, as the web session's user with that user's certificate, once the
 * access gate let the request through (locks, roles, the login). The node checks the certificate again and audits
 * the session under `sessionId`. Rejects with the gate's refusal or Unavailable; the caller audits the latter.
 */
export async function connectAsWebUser(
  deps: WebNodeDeps,
  s: WebSession,
  access: AccessRequest & { principal: string },
  sessionId: string,
): Promise<{ node: NodeRecord; client: Client }> {
  const node = await deps.gate.authorize<NodeRecord>(access);
  const cas = await deps.view.cas();
  const upstream = await dialAgent(node, deps.tunnels, deps.dialTls, {
    service: SSH_SERVICE,
    client: access.remote,
    user: s.user,
    sessionId,
  });
  const client = await connectNode({
    sock: upstream,
    login: access.principal,
    key: s.sshKey,
    cert: s.sshCert,
    hostCas: cas.hostCa.map((k) => parseAuthorizedKey(k).blob),
    hostId: node.hostId,
    name: node.name,
  });
  return { node, client };
}
