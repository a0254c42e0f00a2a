import type { Duplex } from 'node:stream';
import type { Client } from 'ssh2';
import { Unavailable } from '../errors.ts';
import { CIPHERS, KEX, MACS } from './algorithms.ts';
import { hostCertVerifier } from './hostCert.ts';
import { CLIENT_HOST_KEY_ALGOS, certKey, ssh2 } from './ssh2.ts';

/** Who connects to which node, with what: the user's certificate and the host CAs to trust. */
export interface NodeClientOptions {
  /** A byte stream to the node's SSH service (a relay through the proxy, or the proxy's own dial). */
  sock: Duplex;
  login: string;
  /** OpenSSH private key (PEM) and the certificate line issued for it. */
  key: string;
  cert: string;
  /** Host CA public keys (blobs) the node's host certificate must come from. */
  hostCas: Buffer[];
  /** The node's host ID and name: one must be a principal of its host certificate. */
  hostId: string;
  name: string;
  keepaliveMs?: number;
  agentForward?: boolean;
  agent?: string;
}

/**
 * An SSH connection to a node with user-certificate auth and the node's host certificate verified against the
 * cluster's host CAs. Resolves when ready; rejects with Unavailable naming the host-key refusal or "access denied
 * as LOGIN on NODE". Errors after that reach `client.on('error')`, with the same words via `nodeClientError`.
 */
export async function connectNode(o: NodeClientOptions): Promise<Client> {
  const client = new (ssh2().Client)();
  const rejections: string[] = [];
  await new Promise<void>((resolve, reject) => {
    client.once('ready', () => resolve());
    client.once('error', (err: Error & { level?: string }) => reject(nodeClientError(err, rejections, o)));
    client.connect({
      sock: o.sock,
      username: o.login,
      authHandler: [{ type: 'publickey', username: o.login, key: certKey(o.key, o.cert) }] as never,
      hostVerifier: hostCertVerifier(o.hostCas, [o.hostId, o.name], Date.now, (r) => rejections.push(r)) as never,
      algorithms: { kex: KEX, cipher: CIPHERS, hmac: MACS, serverHostKey: CLIENT_HOST_KEY_ALGOS } as never,
      agentForward: o.agentForward,
      agent: o.agent,
      keepaliveInterval: o.keepaliveMs ?? 30_000,
      readyTimeout: 20_000,
    });
  });
  return client;
}

/** An ssh2 client error in a user's words: why the host key was refused, a refused login, or ssh2's message. */
export function nodeClientError(
  err: Error & { level?: string },
  rejections: string[],
  o: { login: string; name: string },
): Unavailable {
  if (rejections.length) return new Unavailable(rejections.join('; '));
  // The proxy already checked that the roles allow this login, so the node itself said no: most often the account
  // is missing there (the node's audit log, auth.attempt, has its reason).
  if (err.level === 'client-authentication')
    return new Unavailable(
      `${o.name} refused the login "${o.login}" that your roles allow: does the account "${o.login}" exist there? ` +
        '(the reason is in its auth.attempt audit event)',
    );
  return new Unavailable(err.message);
}
