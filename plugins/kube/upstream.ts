// Connections from the agent to a cluster's API server: verified TLS with the kubeconfig's credentials, and the
// start-up check that the agent may impersonate (a SelfSubjectAccessReview per resource).
import { connect, type TLSSocket } from 'node:tls';
import { Unavailable } from '../../core/errors.ts';
import type { ApiServerTarget } from './kubeconfig.ts';

/** Opens a verified TLS connection (HTTP/1.1) to the API server; Unavailable with the reason when it cannot. */
export function dialApiServer(t: ApiServerTarget, timeoutMs = 10_000): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const sock = connect({
      host: t.host,
      port: t.port,
      servername: /^[\d.]+$|:/.test(t.servername) ? undefined : t.servername,
      ca: t.ca,
      cert: t.cert,
      key: t.key,
      ALPNProtocols: ['http/1.1'],
      rejectUnauthorized: true,
    });
    const timer = setTimeout(() => sock.destroy(new Error(`no TLS answer in ${timeoutMs} ms`)), timeoutMs);
    sock.once('secureConnect', () => {
      clearTimeout(timer);
      resolve(sock);
    });
    sock.once('error', (err) => {
      clearTimeout(timer);
      reject(new Unavailable(`cannot reach the API server ${t.host}:${t.port}: ${err.message}`));
    });
  });
}

/** The headers that authenticate the agent itself on each request (a bearer token; certificates are in TLS). */
export function agentAuthHeaders(t: ApiServerTarget): [string, string][] {
  return t.token ? [['Authorization', `Bearer ${t.token}`]] : [];
}

/** Asks the API server whether the agent may `impersonate` `resource` (users, groups); throws when it cannot ask. */
export async function canImpersonate(t: ApiServerTarget, resource: 'users' | 'groups'): Promise<boolean> {
  const body = JSON.stringify({
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SelfSubjectAccessReview',
    spec: { resourceAttributes: { verb: 'impersonate', resource } },
  });
  const sock = await dialApiServer(t);
  try {
    const head = [
      'POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews HTTP/1.1',
      `Host: ${t.host}:${t.port}`,
      'Content-Type: application/json',
      'Accept: application/json',
      `Content-Length: ${Buffer.byteLength(body)}`,
      'Connection: close',
      ...agentAuthHeaders(t).map(([k, v]) => `${k}: ${v}`),
    ];
    sock.end(`${head.join('\r\n')}\r\n\r\n${body}`);
    const chunks: Buffer[] = [];
    for await (const c of sock) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString();
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
    if (status !== 201 && status !== 200) throw new Unavailable(`the API server answered the access review ${status}`);
    const json = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as { status?: { allowed?: unknown } };
    return json.status?.allowed === true;
  } finally {
    sock.destroy();
  }
}
