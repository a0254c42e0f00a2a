import type { AppCert } from '../api/schemas.ts';
import { AccessDenied, BadParameter, NotFound, Unauthenticated } from '../errors.ts';
import { checkAppAccess, maxSessionTtl } from '../rbac/index.ts';
import { issueAppCert } from './appCert.ts';
import type { DerivedCertDeps } from './derivedCertDeps.ts';
import type { Identity } from './identity.ts';
import { lockedError } from './locks.ts';

/** What app certificate issuance reads. */
export type AppCertOpsDeps = DerivedCertDeps;

/** A user's request for an app certificate (`POST /v1/apps/cert`). */
export interface AppCertRequest {
  app: string;
  /** SPKI PEM (ECDSA P-256), the client's fresh key. */
  tlsPublicKey: string;
  /**
   * The address the client reaches the app on, when the app's heartbeat names none: `<app>.<proxy public host>`
   * (only the proxy knows its public host). An app's own `public_addr` always wins.
   */
  publicAddr?: string;
  /** Asked lifetime; never past the caller's certificate or the roles' max_session_ttl. */
  ttlMs?: number;
}

const HOST = /^[a-z0-9.-]{1,253}(:\d{1,5})?$/;
const hostOnly = (addr: string) => addr.replace(/:\d+$/, '');

/**
 * App certificates: for a user whose own certificate (`tp login`, a bot's) is valid now, an X.509 certificate good
 * for one app only, issued when no lock covers the user, bot instance or app and the roles' `app_labels` reach the
 * app. Refusals are audited (`auth.attempt`, action `app.cert`); issuance as `cert.create` with `cert_type: app`.
 */
export class AppCertOps {
  constructor(private readonly d: AppCertOpsDeps) {}

  /** Signs an app certificate for `who`, valid until their own certificate ends (or sooner, by TTL or role). */
  async sign(who: Identity, req: AppCertRequest): Promise<AppCert> {
    if (who.kind === 'anonymous')
      throw new Unauthenticated('log in first (`tp login`): app certificates are for users');
    try {
      if (who.kind === 'app')
        throw new AccessDenied('an app certificate cannot ask for another: use your tp login certificate');
      if (who.kind !== 'user' || who.expires === undefined)
        throw new AccessDenied(`app certificates are for users, not ${who.kind} identities`);
      const lock = await this.d.locks.find({
        user: who.name,
        botInstance: who.bot?.instance,
        resource: `app/${req.app}`,
      });
      if (lock) throw lockedError(lock.target.resource ? `app "${req.app}"` : `user "${who.name}"`, lock);
      const records = (await this.d.resources.list('app')).filter((r) => r.name === req.app);
      if (records.length === 0) throw new NotFound(`no app "${req.app}" is served in this cluster (tp apps ls)`);
      const roles = await this.d.roles.rolesOf(who.roles);
      // Agents serving one name should carry one set of labels; if they differ, every one must be allowed.
      for (const r of records) checkAppAccess(roles, req.app, r.labels);
      const publicAddr = this.publicAddrOf(
        req,
        records.map((r) => r.spec.public_addr),
      );
      const now = this.d.clock.now();
      const caps = [who.expires, now + maxSessionTtl(roles), ...(req.ttlMs ? [now + req.ttlMs] : [])];
      const out = await issueAppCert({
        tlsCa: this.d.cas.current('tls'),
        username: who.name,
        roles: who.roles,
        traits: who.traits ?? {},
        ...(who.bot ? { bot: who.bot } : {}),
        route: { app: req.app, publicAddr },
        tlsPublicKey: req.tlsPublicKey,
        notAfter: Math.min(...caps),
        now,
      });
      const expires = new Date(out.expires).toISOString();
      await this.d.emit({ type: 'cert.create', user: who.name, cert_type: 'app', app_name: req.app, expires });
      return { cert: out.cert, ca: this.d.cas.public('tls').tlsCerts, app: req.app, publicAddr, expires };
    } catch (err) {
      const error = (err as Error).message;
      await this.d.emit({
        type: 'auth.attempt',
        success: false,
        user: who.name,
        action: 'app.cert',
        app_name: req.app,
        error,
      });
      throw err;
    }
  }

  /**
   * The app's public address: its heartbeat's `public_addr` (with the proxy's port when the client adds it), else
   * the `<app>.<proxy host>[:port]` the client computed from the proxy's public address.
   */
  private publicAddrOf(req: AppCertRequest, declared: unknown[]): string {
    const own = declared.find((a): a is string => typeof a === 'string')?.toLowerCase();
    const asked = req.publicAddr?.toLowerCase();
    if (asked !== undefined && !HOST.test(asked)) throw new BadParameter(`"${req.publicAddr}" is not a host name`);
    if (own) {
      if (asked === undefined) return own;
      const samePort = /:\d+$/.test(own) ? asked === own : hostOnly(asked) === own;
      if (!samePort) throw new BadParameter(`app "${req.app}" is served on ${own}, not ${req.publicAddr}`);
      return asked;
    }
    if (asked === undefined) throw new BadParameter(`say the address app "${req.app}" is reached on (publicAddr)`);
    if (!hostOnly(asked).startsWith(`${req.app}.`))
      throw new BadParameter(`app "${req.app}" is reached on ${req.app}.<proxy host>, not ${req.publicAddr}`);
    return asked;
  }
}
