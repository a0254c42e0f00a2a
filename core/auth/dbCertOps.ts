import { X509Certificate } from 'node:crypto';
import type { DbClientCert, DbServerCert } from '../api/schemas.ts';
import { AccessDenied, Unauthenticated } from '../errors.ts';
import { checkDbAccess, type Role, type Traits } from '../rbac/index.ts';
import type { Authorizer } from './authorizer.ts';
import { issueDbClientCert, issueDbServerCert } from './dbIssuer.ts';
import type { DerivedCertDeps } from './derivedCertDeps.ts';
import { forwardedIdentity, type Identity } from './identity.ts';
import { lockedError } from './locks.ts';

/** What the database certificate operations read: those of every derived certificate, and the authorizer. */
export interface DbCertOpsDeps extends DerivedCertDeps {
  authz: Authorizer;
}

/** An agent's request for an ephemeral database client certificate (`POST /v1/db/cert`). */
export interface DbClientCertRequest {
  /** The user's TLS client certificate (base64 DER), as the agent received it with the stream. */
  cert: string;
  db_user: string;
  /** The agent's fresh key for this one connection (SPKI PEM). */
  public_key: string;
  /** The database (resource name) the connection is for; when absent, any database the agent serves may grant. */
  db?: string;
}

/**
 * Certificates for databases: server certificates from the db CA for admins (`tp ca sign --db`), and ephemeral
 * client certificates from the db_client CA for agents, on behalf of a user whose certificate auth checks itself.
 */
export class DbCertOps {
  constructor(private readonly d: DbCertOpsDeps) {}

  /** Signs a database server's certificate (admins); answers it with the db_client CA the server should trust. */
  async signServer(
    who: Identity,
    req: { hostName: string; tlsPublicKey: string; ttlMs: number },
  ): Promise<DbServerCert> {
    await this.d.authz.authorize(who, 'cert', 'create');
    const now = this.d.clock.now();
    const cert = await issueDbServerCert({ ...req, dbCa: this.d.cas.current('db'), now });
    const expires = new Date(now + req.ttlMs).toISOString();
    await this.d.emit({ type: 'cert.create', user: who.name, cert_type: 'db', host: req.hostName, expires });
    return { cert, clientCa: this.d.cas.public('db_client').tlsCerts, dbCa: this.d.cas.public('db').tlsCerts, expires };
  }

  /**
   * Throws AccessDenied unless the roles let the user be `db_user` on a database the agent `who` serves (the one
   * `req.db` names, when given), judged by the labels auth holds from the agent's own heartbeat.
   */
  private async checkGrant(who: Identity, req: DbClientCertRequest, roles: Role[], traits: Traits): Promise<void> {
    const agent = `agent "${who.hostName ?? who.name}"`;
    const served = (await this.d.resources.list('db')).filter((r) => r.hostId === who.name);
    const targets = req.db === undefined ? served : served.filter((r) => r.name === req.db);
    if (targets.length === 0)
      throw new AccessDenied(
        req.db === undefined ? `${agent} serves no databases` : `${agent} does not serve database "${req.db}"`,
      );
    const refusals: Error[] = [];
    for (const t of targets) {
      try {
        checkDbAccess(roles, traits, t.labels, req.db_user, null);
        return;
      } catch (err) {
        refusals.push(err as Error);
      }
    }
    // One cause for every database: say it as it is; several: name the databases.
    if (new Set(refusals.map((e) => e.message)).size === 1) throw refusals[0];
    const names = targets.map((t) => t.name).join(', ');
    throw new AccessDenied(`database user "${req.db_user}" is not allowed on any database ${agent} serves (${names})`);
  }

  /**
   * Signs an ephemeral client certificate (CN = the database user) for the agent `who`, acting for the user whose
   * certificate it forwards: that certificate must come from the cluster's TLS CA and be valid now; the user, the
   * bot instance and the agent must not be locked; the user's roles must grant the database user on a database the
   * agent serves. The answer's
   * `ca` is what the agent verifies the database server against (every trusted db CA, during a rotation both).
   */
  async signClient(who: Identity, req: DbClientCertRequest): Promise<DbClientCert> {
    if (who.kind === 'anonymous') throw new Unauthenticated('a node certificate is required for db.cert');
    if (who.kind !== 'node') {
      const error = 'only agents get database client certificates';
      await this.d.emit({ type: 'auth.attempt', success: false, user: who.name, action: 'db.cert', error });
      throw new AccessDenied(error);
    }
    const now = this.d.clock.now();
    const base = { type: 'cert.create' as const, cert_type: 'db_client', db_user: req.db_user, server_id: who.name };
    let user: Identity | undefined;
    try {
      user = forwardedIdentity(req.cert, this.d.cas.current('tls').tlsTrusted, now);
      if (user.kind !== 'user') throw new Unauthenticated('the forwarded certificate is not a user certificate');
      const lock = await this.d.locks.find({
        user: user.name,
        botInstance: user.bot?.instance,
        node: { name: who.hostName ?? who.name, hostId: who.name },
      });
      if (lock)
        throw lockedError(lock.target.node ? `agent "${who.hostName ?? who.name}"` : `user "${user.name}"`, lock);
      const roles = await this.d.roles.rolesOf(user.roles);
      await this.checkGrant(who, req, roles, user.traits ?? {});
      const notAfter = Date.parse(new X509Certificate(Buffer.from(req.cert, 'base64')).validTo);
      const out = await issueDbClientCert({
        dbClientCa: this.d.cas.current('db_client'),
        dbUser: req.db_user,
        publicKey: req.public_key,
        notAfter,
        now,
      });
      const expires = new Date(out.expires).toISOString();
      await this.d.emit({ ...base, user: user.name, expires });
      return { cert: out.cert, ca: this.d.cas.public('db').tlsCerts, expires };
    } catch (err) {
      await this.d.emit({ ...base, success: false, user: user?.name ?? '', error: (err as Error).message });
      throw err;
    }
  }
}
