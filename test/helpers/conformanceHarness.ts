// The pieces every plugin conformance harness (core/plugin/conformance.ts) and the forged-stream security tests build
// the same way on a test cluster: a user's certificate signed at auth, one from another cluster's CA, the audit
// reader, the proxy's side, and the wait until a plugin's resources resolve at the proxy.
import { connect, type TLSSocket } from 'node:tls';
import * as v from 'valibot';
import { AuditEventSchema } from '../../core/api/schemas.ts';
import { formatAuthorizedKey, generateKeyPair, sshPublicBlob } from '../../core/crypto/keys.ts';
import { createTlsCA, issueTlsCert } from '../../core/crypto/x509.ts';
import { type HostIdentity, requireHostIdentity } from '../../core/identity/hostIdentity.ts';
import { parseHostPort } from '../../core/net/index.ts';
import type { ConformanceHarness, TlsCreds } from '../../core/plugin/conformance.ts';
import { clientKeys, type TestCluster, waitFor } from './cluster.ts';

/** A harness `user(ttlMs)`: each call signs a fresh key pair's TLS certificate for `username` at auth. */
export function signedUser(cluster: TestCluster, username: string): (ttlMs?: number) => Promise<TlsCreds> {
  return async (ttlMs) => {
    const k = clientKeys();
    const r = await cluster.auth.client.signUser({
      username,
      sshPublicKey: formatAuthorizedKey(sshPublicBlob(k.ssh.publicKey)),
      tlsPublicKey: k.tlsPublicKey,
      ttlMs,
    });
    return { cert: r.tlsCert, key: k.tls.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
  };
}

/** A client certificate for `username` with `roles`, signed by a CA of another cluster (`evil.example`). */
export async function foreignUser(username: string, roles: string[]): Promise<TlsCreds> {
  const ca = await createTlsCA('evil.example', Date.now());
  const k = generateKeyPair('p256');
  const cert = await issueTlsCert({
    ca,
    publicKey: k.publicKey,
    subject: { commonName: username, organization: roles, identity: { kind: 'user' } },
    now: Date.now(),
    ttlMs: 3_600_000,
    usage: 'client',
  });
  return { cert, key: k.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
}

/** A PEM certificate as base64 DER, the form a stream header's `cert` carries. */
export function derOf(pem: string): string {
  return Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64').toString('base64');
}

/** The harness `events(type)`: the cluster's audit events of `type` recorded so far, read as the admin. */
export function auditEvents(cluster: TestCluster): ConformanceHarness['events'] {
  return (type) => cluster.auth.admin.get(v.array(AuditEventSchema), `/v1/audit/events?type=${type}`);
}

/** The harness's proxy side: its address and CA, and its own identity's certificate for forged streams. */
export function proxySide(cluster: TestCluster): Pick<ConformanceHarness, 'proxy' | 'proxyTls'> {
  const id = requireHostIdentity(cluster.layout.proxyDir);
  return { proxy: { addr: cluster.proxy.addr, ca: id.tlsCa }, proxyTls: { cert: id.tlsCert, key: id.tlsKey } };
}

/** Resolves once every one of `names` of plugin `kind` resolves at the proxy; rejects after 15 s. */
export function waitForResources(cluster: TestCluster, kind: string, names: string[]): Promise<void> {
  return waitFor(
    `${kind} ${names.join(', ')} in the cluster state`,
    async () => {
      const found = await Promise.all(
        names.map((n) => cluster.proxy.view.resolveResource(kind, n).catch(() => undefined)),
      );
      return found.every(Boolean);
    },
    15_000,
  );
}

/** A TLS connection to an agent's direct listener at `agentAddr` holding the proxy's identity (ALPN tp-node), connected. */
export async function dialAgentAsProxy(agentAddr: string, proxyId: HostIdentity): Promise<TLSSocket> {
  const [host, port] = parseHostPort(agentAddr);
  const sock = connect({
    host,
    port,
    ca: proxyId.tlsCa,
    cert: proxyId.tlsCert,
    key: proxyId.tlsKey,
    ALPNProtocols: ['tp-node'],
    checkServerIdentity: () => undefined,
  });
  await new Promise((resolve, reject) => sock.once('secureConnect', resolve).once('error', reject));
  return sock;
}
