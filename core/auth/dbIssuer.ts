import { isIP } from 'node:net';
import { issueTlsCert } from '../crypto/x509.ts';
import { BadParameter } from '../errors.ts';
import type { LoadedCa } from './cas.ts';

/** The longest an ephemeral database client certificate lives (it only has to last one TLS handshake). */
export const DB_CLIENT_CERT_MAX_MS = 3_600_000;

/**
 * Database user names a client certificate may carry as its CN: no DN separators (`/ , = +`), quotes or spaces, so
 * the subject a database prints (MariaDB's `/CN=alice`) is exactly the user, never a second made-up RDN.
 */
export const DB_USER_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.@$-]{0,62}$/;

/** Inputs of a database server certificate (`tp ca sign --db`); the key pair is made where the database runs. */
export interface DbServerCertRequest {
  dbCa: LoadedCa;
  /** The name (or address) clients reach the database by: the certificate's CN and SAN. */
  hostName: string;
  tlsPublicKey: string;
  ttlMs: number;
  now: number;
}

/** Signs a database server certificate with the db CA: CN and SAN = the host name (an IP SAN when it is one), serverAuth. */
export function issueDbServerCert(req: DbServerCertRequest): Promise<string> {
  const ip = isIP(req.hostName) !== 0;
  return issueTlsCert({
    ca: req.dbCa.tls!,
    publicKey: req.tlsPublicKey,
    subject: { commonName: req.hostName },
    now: req.now,
    ttlMs: req.ttlMs,
    dnsNames: ip ? [] : [req.hostName],
    ips: ip ? [req.hostName] : [],
    usage: 'server',
  });
}

/** Inputs of an ephemeral database client certificate, for an agent to present to a database as `dbUser`. */
export interface DbClientCertRequest {
  dbClientCa: LoadedCa;
  dbUser: string;
  /** The agent's fresh P-256 public key (SPKI PEM). */
  publicKey: string;
  /** When the user's own certificate expires (epoch ms): the new one never outlives it. */
  notAfter: number;
  now: number;
}

/**
 * Signs a client certificate whose subject is exactly `CN=<dbUser>` (what PostgreSQL's `cert` auth and MariaDB's
 * `REQUIRE SUBJECT '/CN=<user>'` compare), clientAuth, valid until the user's certificate ends or an hour, whichever
 * comes first. Returns the PEM and its expiry.
 */
export async function issueDbClientCert(req: DbClientCertRequest): Promise<{ cert: string; expires: number }> {
  if (!DB_USER_PATTERN.test(req.dbUser))
    throw new BadParameter(
      `database user "${req.dbUser}" cannot be named in a certificate: use letters, digits and _ . @ $ - (at most 63)`,
    );
  const expires = Math.min(req.notAfter, req.now + DB_CLIENT_CERT_MAX_MS);
  if (expires <= req.now) throw new BadParameter('the user certificate has expired');
  const cert = await issueTlsCert({
    ca: req.dbClientCa.tls!,
    publicKey: req.publicKey,
    subject: { commonName: req.dbUser },
    now: req.now,
    ttlMs: expires - req.now,
    usage: 'client',
  });
  return { cert, expires };
}
