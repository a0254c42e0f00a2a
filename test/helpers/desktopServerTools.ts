// What the desktop test servers (Xvnc, xrdp, the RDP stand-in) share: telling that a server listens, and a
// self-signed certificate made with openssl.
import { connect } from 'node:net';

/** True once something accepts TCP connections on loopback `port` (the server is up). */
export function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Writes a new RSA key and a self-signed certificate for `cn` (2 days) to the two files; throws openssl's words. */
export function writeSelfSigned(cn: string, keyFile: string, certFile: string): void {
  const made = Bun.spawnSync([
    'openssl',
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    `/CN=${cn}`,
    '-keyout',
    keyFile,
    '-out',
    certFile,
  ]);
  if (made.exitCode !== 0) throw new Error(`openssl: ${made.stderr}`);
}
