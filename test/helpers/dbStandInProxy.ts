// A stand-in for tp's proxy on the plugins' default framing (core/plugin/README.md), written from the README and not
// from the proxy's code: mutual TLS on the db ALPN ids, one route line in, one answer line out, then raw bytes to a
// plain TCP upstream (a PostgreSQL recorder or MySQL relay). It records what clients sent, so tests check the framing.
import { generateKeyPairSync } from 'node:crypto';
import { connect as tcpConnect } from 'node:net';
import { createServer, type TLSSocket } from 'node:tls';
import type { Profile } from '../../core/client/profile.ts';
import { createTlsCA, issueTlsCert, type TlsKeyPair } from '../../core/crypto/x509.ts';

/** One route line a client sent, with the certificate's common name it came under. */
export interface SeenRoute {
  commonName: string;
  alpn: string;
  line: Record<string, unknown>;
}

/** What the stand-in routes: target name → upstream port, and who may reach it. */
export interface StandInTarget {
  port: number;
  kind?: string;
  /** The principals allowed; any other is answered access_denied. */
  principals: string[];
}

export interface DbStandInProxy extends AsyncDisposable {
  addr: string;
  /** The cluster TLS CA the stand-in trusts user certificates from (and whose proxy cert it shows). */
  ca: TlsKeyPair;
  seen: SeenRoute[];
  /** A profile held in memory for `user`, with a certificate from `ca` (default: the stand-in's own CA). */
  profile(user: string, ca?: TlsKeyPair): Promise<Profile>;
  close(): Promise<void>;
}

const HOUR = 3_600_000;

function p256(): { publicKey: string; privateKey: string } {
  return generateKeyPairSync('ec', {
    namedCurve: 'prime256v1',
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
}

/** Starts the stand-in on a free loopback port, answering on `alpn` ids for the given targets. */
export async function startDbStandInProxy(
  targets: Record<string, StandInTarget>,
  alpn = ['tp-db-postgres', 'tp-db-mysql'],
): Promise<DbStandInProxy> {
  const now = Date.now();
  const ca = await createTlsCA('standin.cluster', now);
  const keys = p256();
  const cert = await issueTlsCert({
    ca,
    publicKey: keys.publicKey,
    subject: { commonName: 'proxy', organization: ['system:proxy'], identity: { kind: 'proxy' } },
    now,
    ttlMs: HOUR,
    ips: ['127.0.0.1'],
    usage: 'server',
  });
  const seen: SeenRoute[] = [];
  const server = createServer(
    { cert, key: keys.privateKey, ca: [ca.cert], requestCert: true, rejectUnauthorized: true, ALPNProtocols: alpn },
    (sock) => void serve(sock, targets, seen),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return {
    addr: `127.0.0.1:${port}`,
    ca,
    seen,
    async profile(user, userCa = ca) {
      const k = p256();
      const tlsCert = await issueTlsCert({
        ca: userCa,
        publicKey: k.publicKey,
        subject: { commonName: user, identity: { kind: 'user' } },
        now,
        ttlMs: HOUR,
        usage: 'client',
      });
      const none = '/nonexistent';
      return {
        proxy: `127.0.0.1:${port}`,
        user,
        cluster: 'standin.cluster',
        logins: [],
        dir: none,
        keyPath: none,
        certPath: none,
        tlsKeyPath: none,
        tlsCertPath: none,
        casPath: none,
        knownHostsPath: none,
        expires: now + HOUR,
        material: { sshKey: '', sshCert: '', tlsKey: k.privateKey, tlsCert, cas: ca.cert, knownHosts: '' },
      };
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Reads one line (at most 8 KiB) from the socket, leaving later bytes unread. */
function readLine(sock: TLSSocket): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const nl = buf.indexOf(10);
      if (nl < 0 && buf.length < 8192) return;
      sock.off('data', onData);
      sock.pause();
      if (nl < 0) return reject(new Error('route line too long'));
      if (nl + 1 < buf.length) sock.unshift(buf.subarray(nl + 1));
      resolve(buf.subarray(0, nl).toString('utf8'));
    };
    sock.on('data', onData);
    sock.once('close', () => reject(new Error('closed before the route line')));
  });
}

async function serve(sock: TLSSocket, targets: Record<string, StandInTarget>, seen: SeenRoute[]): Promise<void> {
  sock.on('error', () => sock.destroy());
  const answer = (a: unknown) => sock.write(`${JSON.stringify(a)}\n`);
  let line: Record<string, unknown>;
  try {
    line = JSON.parse(await readLine(sock)) as Record<string, unknown>;
  } catch {
    sock.destroy(); // a client that sends no route line gets nothing
    return;
  }
  seen.push({ commonName: String(sock.getPeerCertificate().subject?.CN), alpn: String(sock.alpnProtocol), line });
  const t = targets[String(line.target)];
  if (!t) {
    answer({ ok: false, error: { code: 'not_found', message: `no database "${line.target}"` } });
    return void sock.end();
  }
  if (!t.principals.includes(String(line.principal))) {
    const message = `database user "${line.principal}" is not allowed by your roles`;
    answer({ ok: false, error: { code: 'access_denied', message } });
    return void sock.end();
  }
  const up = tcpConnect(t.port, '127.0.0.1');
  up.once('connect', () => {
    answer({ ok: true, resource: { kind: t.kind ?? 'db', name: line.target, spec: {} } });
    sock.pipe(up);
    up.pipe(sock);
    sock.resume();
  });
  const end = () => {
    up.destroy();
    sock.destroy();
  };
  up.on('error', end);
  up.on('close', end);
  sock.on('close', end);
}
