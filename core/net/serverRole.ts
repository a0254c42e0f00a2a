import { WrongServer } from '../errors.ts';

/** The cluster roles a client talks to: it sends credentials only to a server whose certificate names the role. */
export type ServerRole = 'proxy' | 'auth';

/** The parts of a peer certificate (as node:tls and Bun's fetch hand it over) the checks read. */
export interface PeerCert {
  subject?: { O?: string | string[] } | null;
  subjectaltname?: string;
}

const ROLE_NAMES: Record<string, string> = {
  node: 'a node certificate',
  proxy: "a proxy's certificate",
  auth: "an auth server's certificate",
  admin: 'an admin certificate',
};

/** The tp role a host certificate names (its `O=system:<role>`), or undefined for any other certificate. */
export function certRole(cert: PeerCert): string | undefined {
  const o = cert.subject?.O;
  const orgs = o === undefined ? [] : Array.isArray(o) ? o : [o];
  return orgs.find((v) => v.startsWith('system:'))?.slice('system:'.length);
}

function isIp(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(':');
}

/** One spelling of an IP address (IPv6 compressed, as URL prints it) so SAN and host compare equal. */
function normalIp(ip: string): string {
  if (!ip.includes(':')) return ip;
  try {
    return new URL(`http://[${ip.replace(/^\[|\]$/g, '')}]/`).hostname;
  } catch (err) {
    throw new WrongServer(`not an IP address: ${ip}`, {}, { cause: err });
  }
}

/**
 * True when `host` is one of the certificate's subject alternative names: an IP address matches an IP SAN, a name
 * matches a DNS SAN exactly or through a wildcard in the leftmost label (RFC 6125), case-insensitively.
 */
export function hostMatches(host: string, cert: PeerCert): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  const sans = (cert.subjectaltname ?? '').split(/,\s*/).filter(Boolean);
  if (isIp(h)) {
    const want = normalIp(h);
    return sans.some((s) => s.startsWith('IP Address:') && normalIp(s.slice('IP Address:'.length)) === want);
  }
  const dot = h.indexOf('.');
  return sans
    .filter((s) => s.startsWith('DNS:'))
    .map((s) => s.slice(4).toLowerCase())
    .some((d) => d === h || (d.startsWith('*.') && dot > 0 && h.slice(dot) === d.slice(1)));
}

/**
 * A `checkServerIdentity` for TLS clients that will send credentials: the server's certificate must be valid for
 * the host dialled and name `role`. A node's certificate (even one from the same cluster CA, valid for that name)
 * is refused before anything is sent, with a WrongServer naming what the server presented.
 */
export function serverIdentityCheck(
  role: ServerRole,
  address: string,
): (host: string, cert: PeerCert) => Error | undefined {
  return (host, cert) => {
    if (!hostMatches(host, cert))
      return new WrongServer(
        `the server at ${address} presented a certificate that is not valid for "${host}" (it names ${cert.subjectaltname || 'no host'}): refusing to send credentials`,
      );
    const has = certRole(cert);
    if (has === role) return undefined;
    const what = has ? (ROLE_NAMES[has] ?? `a "${has}" certificate`) : 'a certificate that names no tp role';
    return new WrongServer(
      `the server at ${address} presented ${what}, not ${ROLE_NAMES[role]?.replace(' certificate', '')}: refusing to send credentials`,
    );
  };
}
