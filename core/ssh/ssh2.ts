import type * as Ssh2 from 'ssh2';
import { parseAuthorizedKey } from '../crypto/keys.ts';
import { TpError } from '../errors.ts';

/** ssh2 without tp's certificate patch: tp refuses to run rather than fail later in a handshake. */
export class Ssh2NotPatched extends TpError {}

let loaded: typeof Ssh2 | undefined;

/**
 * Loads ssh2 (lazily: it costs ~25 MB) and checks tp's certificate patch is applied (patches/ssh2@1.17.0.patch,
 * applied by scripts/bootstrap.mjs on install). Plain `require` calls, so `bun build` (scripts/dist.ts) inlines the
 * patched copy into the package bundle and the binaries.
 */
export function ssh2(): typeof Ssh2 {
  if (loaded) return loaded;
  const utils = require('ssh2/lib/protocol/utils.js') as { tpCertPatch?: number };
  const version = (require('ssh2/package.json') as { version: string }).version;
  if (utils.tpCertPatch !== 1 || version !== '1.17.0') {
    throw new Ssh2NotPatched(
      `ssh2 ${version} lacks tp's certificate patch; run \`node scripts/bootstrap.mjs\` (or npm install) to apply patches/ssh2@1.17.0.patch`,
    );
  }
  loaded = require('ssh2') as typeof Ssh2;
  return loaded;
}

/** An ssh2 key that presents an OpenSSH certificate and signs with the certified private key. */
export type CertKey = Ssh2.ParsedKey;

/**
 * Wraps a private key (OpenSSH PEM) so ssh2 offers `certLine` (an OpenSSH `*-cert.pub` line) as its public key:
 * usable as a server host key or for client public-key auth.
 */
export function certKey(privateKeyPem: string, certLine: string): CertKey {
  const parsed = ssh2().utils.parseKey(privateKeyPem);
  if (parsed instanceof Error) throw new TpError(`cannot parse private key: ${parsed.message}`);
  const key = Array.isArray(parsed) ? parsed[0]! : parsed;
  const cert = parseAuthorizedKey(certLine);
  const wrapper = Object.create(key) as CertKey & { type: string };
  Object.defineProperty(wrapper, 'type', { value: cert.type, enumerable: true });
  wrapper.getPublicSSH = () => cert.blob;
  return wrapper;
}

/**
 * A server's host keys for ssh2: the certificate first, for clients that check host certificates (OpenSSH,
 * asyncssh, tp), then the plain key, for clients that cannot (paramiko) and pin it instead.
 */
export function hostKeys(privateKeyPem: string, certLine: string): never[] {
  return [{ key: certKey(privateKeyPem, certLine) }, { key: plainKey(privateKeyPem) }] as never[];
}

/** Parses an OpenSSH private key for ssh2. */
export function plainKey(privateKeyPem: string): Ssh2.ParsedKey {
  const parsed = ssh2().utils.parseKey(privateKeyPem);
  if (parsed instanceof Error) throw new TpError(`cannot parse private key: ${parsed.message}`);
  return Array.isArray(parsed) ? parsed[0]! : parsed;
}

/** Host-key algorithms a tp client asks for: certificates first, then plain keys. */
export const CLIENT_HOST_KEY_ALGOS = [
  'ssh-ed25519-cert-v01@openssh.com',
  'ecdsa-sha2-nistp256-cert-v01@openssh.com',
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'rsa-sha2-512',
  'rsa-sha2-256',
];
