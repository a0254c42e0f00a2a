import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { publicKeyFromBlob } from '../crypto/keys.ts';
import { CertRejected, parseCert, type SshCertificate, verifyCert } from '../crypto/sshcert.ts';
import { verifySsh } from '../crypto/sshsig.ts';

/** The parts of an ssh2 public-key auth attempt tp checks. */
export interface PublicKeyAttempt {
  username: string;
  key: { algo: string; data: Buffer };
  /** Undefined on the query round; the full SSH signature blob for certificate keys. */
  signature?: Buffer;
  /** The signed data (session ID + request). */
  blob?: Buffer;
}

/** A user certificate auth that passed every check. */
export interface VerifiedUser {
  cert: SshCertificate;
  username: string;
  roles: string[];
  traits: Record<string, string[]>;
  /** Set on the query round: the client has not proven key possession yet. */
  queryOnly: boolean;
}

/** True when `ip` lies in one of the comma-separated CIDRs/addresses of a source-address option. */
export function sourceAllowed(option: string, ip: string): boolean {
  const list = new BlockList();
  for (const entry of option
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [addr, bits] = entry.split('/') as [string, string | undefined];
    const family = isIPv4(addr) ? 'ipv4' : isIPv6(addr) ? 'ipv6' : undefined;
    if (!family) continue;
    list.addSubnet(addr, bits === undefined ? (family === 'ipv4' ? 32 : 128) : Number(bits), family);
  }
  const v4 = ip.startsWith('::ffff:') && isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
  return list.check(v4, isIPv4(v4) ? 'ipv4' : 'ipv6');
}

function jsonExt<T>(cert: SshCertificate, name: string, fallback: T): T {
  const raw = cert.extensions[name];
  if (raw === undefined) return fallback;
  try {
    return JSON.parse(raw) as T;
  } catch (err) {
    throw new CertRejected('malformed', `certificate extension ${name} is not JSON`, { cause: err });
  }
}

/**
 * Checks a public-key auth attempt the way the tp node does: only user certificates from `cas`, valid now, naming
 * the login as a principal, from an allowed source address, and (on the signed round) signed by the certified key.
 * Throws CertRejected with a stable reason otherwise.
 */
export function verifyUserAuth(
  a: PublicKeyAttempt,
  opts: { cas: Buffer[]; now: number; remoteIp: string },
): VerifiedUser {
  if (!a.key.algo.includes('-cert-v01@openssh.com')) {
    throw new CertRejected(
      'malformed',
      'plain public keys are not accepted; log in with `tp login` to get a certificate',
    );
  }
  const cert = verifyCert(parseCert(a.key.data), {
    cas: opts.cas,
    certType: 'user',
    now: opts.now / 1000,
    principal: a.username,
    knownCriticalOptions: ['source-address'],
  });
  const source = cert.criticalOptions['source-address'];
  if (source !== undefined && !sourceAllowed(source, opts.remoteIp)) {
    throw new CertRejected(
      'source_address',
      `certificate is not valid from ${opts.remoteIp} (source-address ${source})`,
    );
  }
  const user = {
    cert,
    username: cert.keyId,
    roles: jsonExt<string[]>(cert, 'tp-roles@tp', []),
    traits: jsonExt<Record<string, string[]>>(cert, 'tp-traits@tp', {}),
  };
  if (a.signature === undefined || a.blob === undefined) return { ...user, queryOnly: true };
  if (!verifySsh(publicKeyFromBlob(cert.publicKey), a.blob, a.signature)) {
    throw new CertRejected('bad_signature', 'the client signature does not verify with the certified key');
  }
  return { ...user, queryOnly: false };
}
