import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTlsCA, issueTlsCert, type TlsKeyPair } from '../../core/crypto/x509.ts';

/** PEM files on disk: a certificate, its private key, and the CA that signed it. */
export interface CertFiles {
  cert: string;
  key: string;
  certPath: string;
  keyPath: string;
}

/** Who owns a database server's files (PostgreSQL runs as `postgres` when the tests run as root). */
export interface FileOwner {
  uid: number;
  gid: number;
}

/** What a test database server is configured with, and how a test gets client certificates it accepts. */
export interface DbServerPki {
  /** The CA certificate(s) clients verify the server with (PEM), and their file. */
  serverCaPem: string;
  serverCaPath: string;
  /** The CA certificate(s) whose client certificates the server accepts (ssl_ca_file / ssl-ca), and their file. */
  clientCaPem: string;
  clientCaPath: string;
  server: CertFiles;
  /** A client certificate with subject exactly `CN=<user>`: from the trusted client CA, or signed here by `ca`. */
  clientCert(user: string, ca?: TlsKeyPair): Promise<CertFiles>;
}

/** A PKI made by the test itself: both CAs' keys are at hand. */
export interface DbTestPki extends DbServerPki {
  /** The CA that signed the server's certificate (what clients verify the server with). */
  serverCa: TlsKeyPair;
  /** The CA whose client certificates the server accepts. */
  clientCa: TlsKeyPair;
}

/** Makes a server's PKI in `dir` (files owned by `owner`): the test's own (createDbTestPki) or the cluster's (clusterDbPki). */
export type DbPkiFactory<P extends DbServerPki> = (dir: string, owner?: FileOwner) => Promise<P>;

const HOUR = 3_600_000;

function newKey(): { publicKey: string; privateKey: string } {
  return generateKeyPairSync('ec', {
    namedCurve: 'prime256v1',
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
}

/** Writes a private key readable only by its owner (`owner` when given: servers refuse group- or world-readable keys). */
function writeKey(path: string, pem: string, owner?: FileOwner): void {
  writeFileSync(path, pem, { mode: 0o600 });
  chmodSync(path, 0o600);
  if (owner) chownSync(path, owner.uid, owner.gid);
}

/** Writes public files into one directory, owned by `owner`. */
function publicWriter(dir: string, owner?: FileOwner): (name: string, text: string) => string {
  mkdirSync(dir, { recursive: true });
  return (name, text) => {
    const path = join(dir, name);
    writeFileSync(path, text, { mode: 0o644 });
    if (owner) chownSync(path, owner.uid, owner.gid);
    return path;
  };
}

/** Client certificate files under `dir`, numbered so a test can hold several for one user. */
function clientFiles(dir: string): (user: string, cert: string, key: string) => CertFiles {
  let n = 0;
  return (user, cert, key) => {
    const base = `client-${user.replace(/[^\w-]/g, '_')}-${++n}`;
    const certPath = join(dir, `${base}.crt`);
    const keyPath = join(dir, `${base}.key`);
    writeFileSync(certPath, cert, { mode: 0o644 });
    writeKey(keyPath, key);
    return { cert, key, certPath, keyPath };
  };
}

/** A `CN=<user>` client certificate signed here by `ca` (the test's own CA, or a foreign one for refusals). */
async function localClientCert(ca: TlsKeyPair, user: string, now: number): Promise<{ cert: string; key: string }> {
  const k = newKey();
  const cert = await issueTlsCert({
    ca,
    publicKey: k.publicKey,
    subject: { commonName: user },
    now,
    ttlMs: HOUR,
    usage: 'client',
  });
  return { cert, key: k.privateKey };
}

/**
 * Makes a fresh test PKI in `dir`: a server CA and a server certificate for 127.0.0.1/localhost, and a client CA
 * whose leaves name only the database user (`CN=alice`), the shape tp's agent presents. Files belong to `owner`.
 */
export async function createDbTestPki(dir: string, now: number, owner?: FileOwner): Promise<DbTestPki> {
  const write = publicWriter(dir, owner);
  const serverCa = await createTlsCA('tp-test-db', now);
  const clientCa = await createTlsCA('tp-test-db-client', now);
  const serverKey = newKey();
  const serverCert = await issueTlsCert({
    ca: serverCa,
    publicKey: serverKey.publicKey,
    subject: { commonName: 'localhost' },
    now,
    ttlMs: 24 * HOUR,
    dnsNames: ['localhost'],
    ips: ['127.0.0.1'],
    usage: 'server',
  });
  const serverKeyPath = join(dir, 'server.key');
  writeKey(serverKeyPath, serverKey.privateKey, owner);
  const files = clientFiles(dir);
  return {
    serverCa,
    serverCaPem: serverCa.cert,
    serverCaPath: write('server-ca.crt', serverCa.cert),
    clientCa,
    clientCaPem: clientCa.cert,
    clientCaPath: write('client-ca.crt', clientCa.cert),
    server: {
      cert: serverCert,
      key: serverKey.privateKey,
      certPath: write('server.crt', serverCert),
      keyPath: serverKeyPath,
    },
    clientCert: async (user, ca = clientCa) => {
      const c = await localClientCert(ca, user, now);
      return files(user, c.cert, c.key);
    },
  };
}

/** Where a database server's certificates come from when the tp cluster is the PKI. */
export interface ClusterDbSource {
  /** What `tp ca sign --db --host NAME --out DIR` wrote: DIR/server.crt, DIR/server.key, DIR/ca.crt (db_client CA). */
  signedDir: string;
  /** `tp ca export --type db`: what clients (the agent) verify the server against. */
  dbCaPem: string;
  /** A client certificate for `user` as the cluster signs them (the agent route, `POST /webapi/agent/db/cert`). */
  clientCert(user: string): Promise<{ cert: string; key: string }>;
}

/**
 * The server PKI of a tp cluster: the server certificate from `tp ca sign --db`, the db_client CA it wrote as the
 * client CA, the db CA for clients; no CA key is at hand (they never leave auth), so only `clientCert(user, foreignCa)`
 * signs here, for refusals.
 */
export function clusterDbPki(src: ClusterDbSource): DbPkiFactory<DbServerPki> {
  return async (dir, owner) => {
    const write = publicWriter(dir, owner);
    const read = (name: string) => readFileSync(join(src.signedDir, name), 'utf8');
    const serverKeyPath = join(dir, 'server.key');
    writeKey(serverKeyPath, read('server.key'), owner);
    const files = clientFiles(dir);
    return {
      serverCaPem: src.dbCaPem,
      serverCaPath: write('server-ca.crt', src.dbCaPem),
      clientCaPem: read('ca.crt'),
      clientCaPath: write('client-ca.crt', read('ca.crt')),
      server: {
        cert: read('server.crt'),
        key: read('server.key'),
        certPath: write('server.crt', read('server.crt')),
        keyPath: serverKeyPath,
      },
      clientCert: async (user, ca) => {
        const c = ca ? await localClientCert(ca, user, Date.now()) : await src.clientCert(user);
        return files(user, c.cert, c.key);
      },
    };
  };
}
