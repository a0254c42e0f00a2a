import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import type { Client } from 'ssh2';
import { parseAuthorizedKey } from '../crypto/keys.ts';
import { pemList } from '../crypto/pem.ts';
import { errorFromWire, isCertificateError, Unauthenticated, Unavailable, WrongServer } from '../errors.ts';
import { parseHostPort } from '../net/index.ts';
import { serverIdentityCheck } from '../net/serverRole.ts';
import { connectNode } from '../ssh/nodeClient.ts';
import { RelayAnswerSchema, type RelayRequest, readHeader, writeHeader } from '../tunnel/header.ts';
import { type Profile, profileTexts, refreshTrust } from './profile.ts';

/** The proxy's answer to a relay request, with the open socket that now carries raw SSH to the node. */
export interface Relay {
  sock: TLSSocket;
  hostId: string;
  name: string;
}

/**
 * Opens the `tp-ssh` relay to a node through the proxy, authenticated by the profile's X.509 certificate. The proxy
 * checks locks and roles before answering; a refusal is thrown as the typed error it sent.
 */
export async function openRelay(p: Profile, node: string, login: string, port?: number): Promise<Relay> {
  const [host, proxyPort] = parseHostPort(p.proxy);
  const t = profileTexts(p);
  const sock = tlsConnect({
    host,
    port: proxyPort,
    ca: pemList(t.cas),
    cert: t.tlsCert,
    key: t.tlsKey,
    ALPNProtocols: ['tp-ssh'],
    servername: /^[\d.]+$|:/.test(host) ? undefined : host,
    checkServerIdentity: serverIdentityCheck('proxy', p.proxy),
  });
  await new Promise<void>((resolve, reject) => {
    sock.once('secureConnect', resolve);
    sock.once('error', (err) => reject(proxyTlsError(p.proxy, err)));
  });
  writeHeader(sock, { v: 1, node, login, port } satisfies RelayRequest);
  const answer = await readHeader(sock, RelayAnswerSchema);
  if (!answer.ok) {
    sock.destroy();
    throw errorFromWire(answer.error.code, answer.error.message);
  }
  // The answer came over TLS this profile verified: take on the cluster's current CAs (rotation).
  refreshTrust(p, answer.hostCa ?? [], answer.tlsCa ?? []);
  return { sock, hostId: answer.hostId, name: answer.name };
}

/**
 * A failed TLS connection to the proxy, explained. `known` says whether this machine trusted the proxy before (a
 * saved profile's CA): then an unverifiable certificate usually means a CA rotation; otherwise it is first contact.
 */
export function proxyTlsError(
  proxy: string,
  err: Error,
  known: { profile: boolean; caFile?: string } = { profile: true },
): Unavailable | Unauthenticated {
  if (err instanceof WrongServer) return err;
  if (!isCertificateError(err)) return new Unavailable(`cannot reach the proxy at ${proxy}: ${err.message}`);
  const why = `the proxy at ${proxy} presents a certificate`;
  if (known.caFile)
    return new Unauthenticated(`${why} not signed by the CA in --ca-cert ${known.caFile} (${err.message})`);
  if (!known.profile)
    return new Unauthenticated(
      `${why} this machine does not trust (${err.message}). First contact with a self-signed proxy: pass its CA ` +
        'with --ca-cert FILE (`tp ca export --type tls` on the cluster), or --insecure to skip the check once',
    );
  return new Unauthenticated(
    `${why} this profile does not trust (${err.message}); the cluster may have rotated its CAs since you last ` +
      'connected: run `tp login` again (with --insecure or --ca-cert as on first contact)',
  );
}

/** Host CA keys from the profile's known_hosts. */
export function hostCas(p: Profile): Buffer[] {
  return profileTexts(p)
    .knownHosts.split('\n')
    .filter((l) => l.startsWith('@cert-authority'))
    .map((l) => parseAuthorizedKey(l.split(/\s+/).slice(2).join(' ')).blob);
}

export interface SshConnectOptions {
  agentForward?: boolean;
  keepaliveMs?: number;
}

/** An SSH connection to a node through the proxy: user certificate auth, host certificate verified against the CA. */
export async function sshToNode(
  p: Profile,
  node: string,
  login: string,
  o: SshConnectOptions = {},
): Promise<{ client: Client; relay: Relay }> {
  const relay = await openRelay(p, node, login);
  const t = profileTexts(p);
  const client = await connectNode({
    sock: relay.sock,
    login,
    key: t.sshKey,
    cert: t.sshCert.trim(),
    hostCas: hostCas(p),
    hostId: relay.hostId,
    name: relay.name,
    keepaliveMs: o.keepaliveMs,
    agentForward: !!o.agentForward && !!process.env.SSH_AUTH_SOCK,
    agent: o.agentForward ? process.env.SSH_AUTH_SOCK : undefined,
  });
  return { client, relay };
}
