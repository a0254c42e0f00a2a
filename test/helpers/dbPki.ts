import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTlsCA, issueTlsCert, type TlsKeyPair } from '../../core/crypto/x509.ts';

/** PEM files on disk: a certificate, its private key, and the CA that signed it. */
export interface CertFiles {
  cert: string;
  key: string;
  certPath: string;
  keyPath: string;
}

/** Key material a test database server uses, as PEM text and as files under `dir`. */
export interface DbTestPki {
  /** The CA that signed the server's certificate (what clients verify the server with). */
  serverCa: TlsKeyPair;
  serverCaPath: string;
  /** The CA whose client certificates the server accepts. */
  clientCa: TlsKeyPair;
  clientCaPath: string;
  server: CertFiles;
  /** A client certificate with subject exactly `CN=<user>`, signed by `ca` (default: the trusted client CA). */
  clientCert(user: string, ca?: TlsKeyPair): Promise<CertFiles>;
}

const HOUR = 3_600_000;

function newKey(): { publicKey: string; privateKey: string } {
  return generateKeyPairSync('ec', {
    namedCurve: 'prime256v1',
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
}

/** Writes a private key readable only by its owner (`owner` when given: servers refuse group- or world-readable keys). */
function writeKey(path: string, pem: string, owner?: { uid: number; gid: number }): void {
  writeFileSync(path, pem, { mode: 0o600 });
  chmodSync(path, 0o600);
  if (owner) chownSync(path, owner.uid, owner.gid);
}

/**
 * Makes a fresh test PKI in `dir`: a server CA and a server certificate for 127.0.0.1/localhost, and a client CA
 * whose leaves name only the database user (`CN=alice`), the shape tp's agent presents. Files belong to `owner`.
 */
export async function createDbTestPki(
  dir: string,
  now: number,
  owner?: { uid: number; gid: number },
): Promise<DbTestPki> {
  mkdirSync(dir, { recursive: true });
  const serverCa = await createTlsCA('tp-test-db', now);
  const clientCa = await createTlsCA('tp-test-db-client', now);
  const write = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text, { mode: 0o644 });
    if (owner) chownSync(path, owner.uid, owner.gid);
    return path;
  };
  const serverCaPath = write('server-ca.crt', serverCa.cert);
  const clientCaPath = write('client-ca.crt', clientCa.cert);
  const serverKey = newKey();
  const serverCert = await issueTlsCert({
    ca: serverCa,
    publicKey: serverKey.publicKey,
    subject: { commonName: 'localhost', identity: { kind: 'node' } },
    now,
    ttlMs: 24 * HOUR,
    dnsNames: ['localhost'],
    ips: ['127.0.0.1'],
    usage: 'server',
  });
  const serverKeyPath = join(dir, 'server.key');
  writeKey(serverKeyPath, serverKey.privateKey, owner);
  const server = {
    cert: serverCert,
    key: serverKey.privateKey,
    certPath: write('server.crt', serverCert),
    keyPath: serverKeyPath,
  };
  let n = 0;
  const clientCert = async (user: string, ca: TlsKeyPair = clientCa): Promise<CertFiles> => {
    const k = newKey();
    const cert = await issueTlsCert({
      ca,
      publicKey: k.publicKey,
      subject: { commonName: user, identity: { kind: 'user' } },
      now,
      ttlMs: HOUR,
      usage: 'client',
    });
    const base = `client-${user.replace(/[^\w-]/g, '_')}-${++n}`;
    const certPath = join(dir, `${base}.crt`);
    const keyPath = join(dir, `${base}.key`);
    writeFileSync(certPath, cert, { mode: 0o644 });
    writeKey(keyPath, k.privateKey);
    return { cert, key: k.privateKey, certPath, keyPath };
  };
  return { serverCa, serverCaPath, clientCa, clientCaPath, server, clientCert };
}
