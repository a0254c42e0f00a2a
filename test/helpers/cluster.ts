import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { issueHostCerts } from '../../core/auth/issuer.ts';
import { type AuthServer, type AuthServerOptions, startAuthServer } from '../../core/auth/server.ts';
import { AuthClient, loadAdminIdentity } from '../../core/client/authClient.ts';
import { generateKeyPair } from '../../core/crypto/keys.ts';

/** An auth server in this process with clients for each kind of caller. */
export interface TestAuth extends AsyncDisposable {
  server: AuthServer;
  dataDir: string;
  admin: AuthClient;
  /** A client holding a proxy identity (may log users in). */
  proxy: () => Promise<AuthClient>;
  /** A client with no certificate. */
  anonymous: AuthClient;
  close(): Promise<void>;
}

/** Starts an auth server on 127.0.0.1:0 with SQLite in a temp dir (override anything through `opts`). */
export async function startTestAuth(opts: Partial<AuthServerOptions> = {}): Promise<TestAuth> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'tp-auth-'));
  const server = await startAuthServer({
    clusterName: 'test.cluster',
    storage: { type: 'sqlite' },
    listen: '127.0.0.1:0',
    secondFactor: 'off',
    ...opts,
    dataDir,
  });
  const admin = loadAdminIdentity(dataDir);
  const ca = admin.tls.ca;
  const close = async () => {
    await server.close();
    if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
  };
  return {
    server,
    dataDir,
    admin: new AuthClient([server.addr], admin.tls),
    anonymous: new AuthClient([server.addr], { ca }),
    proxy: async () => {
      const key = generateKeyPair('p256');
      const svc = server.service;
      const out = await issueHostCerts({
        hostCa: svc.ca('host'),
        tlsCa: svc.ca('tls'),
        cluster: svc.cluster,
        role: 'proxy',
        hostName: 'proxy-1',
        tlsPublicKey: key.publicKey.export({ type: 'spki', format: 'pem' }) as string,
        ttlMs: 3_600_000,
        now: Date.now(),
      });
      return new AuthClient([server.addr], {
        ca,
        cert: out.tlsCert,
        key: key.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
      });
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** A client's fresh key pair in the wire forms the login API takes. */
export function clientKeys() {
  const ssh = generateKeyPair('ed25519');
  const tls = generateKeyPair('p256');
  return { ssh, tls, tlsPublicKey: tls.publicKey.export({ type: 'spki', format: 'pem' }) as string };
}
