import { X509Certificate } from 'node:crypto';
import type { AppToken } from '../api/schemas.ts';
import type { Clock } from '../clock.ts';
import { signAppToken } from '../crypto/jwt.ts';
import { AccessDenied, Unauthenticated } from '../errors.ts';
import { checkAppAccess } from '../rbac/index.ts';
import type { Emit } from './authorizer.ts';
import type { CaReader } from './caSet.ts';
import { forwardedIdentity, type Identity } from './identity.ts';
import { type LockStore, lockedError } from './locks.ts';
import type { ResourceRecordStore } from './resourceRecords.ts';
import type { RoleStore } from './roles.ts';

/** The longest an app identity token lives: an agent reuses one for the requests of this window, then asks again. */
export const APP_TOKEN_MAX_MS = 60_000;

/** What the app token operation reads. */
export interface AppTokenOpsDeps {
  emit: Emit;
  clock: Clock;
  cluster: string;
  cas: CaReader;
  roles: Pick<RoleStore, 'rolesOf'>;
  locks: Pick<LockStore, 'find'>;
  /** The resource records agents heartbeat: which apps the calling agent serves, their labels and URIs. */
  resources: Pick<ResourceRecordStore, 'list'>;
}

/** An agent's request for an app identity token (`POST /v1/apps/token`). */
export interface AppTokenRequest {
  /** The user's TLS client certificate (base64 DER), as the agent received it with the stream. */
  cert: string;
  /** The app (resource name). */
  app: string;
}

/**
 * App identity tokens: JWTs from the JWT CA that an agent adds to each request it forwards to a web app, on behalf
 * of a user whose certificate auth checks itself. The signing key never leaves auth.
 */
export class AppTokenOps {
  constructor(private readonly d: AppTokenOpsDeps) {}

  /**
   * Signs a token for the agent `who`, acting for the user whose certificate it forwards: that certificate must come
   * from the cluster's TLS CA and be valid now; the user, bot instance, agent and app must not be locked; the app
   * must be one the agent heartbeats and the user's roles must reach it by the labels auth holds. The audience is the
   * app's URI from that heartbeat; the token ends with the user's certificate or after APP_TOKEN_MAX_MS.
   */
  async sign(who: Identity, req: AppTokenRequest): Promise<AppToken> {
    if (who.kind === 'anonymous') throw new Unauthenticated('a node certificate is required for an app token');
    const refuse = async (error: string, user = who.name) => {
      await this.d.emit({ type: 'auth.attempt', success: false, user, action: 'app.token', app_name: req.app, error });
    };
    if (who.kind !== 'node') {
      const error = 'only agents get app identity tokens';
      await refuse(error);
      throw new AccessDenied(error);
    }
    const now = this.d.clock.now();
    let user: Identity | undefined;
    try {
      // An app certificate (`tp apps login`) passes here for its own app only.
      user = forwardedIdentity(req.cert, this.d.cas.current('tls').tlsTrusted, now, req.app);
      if (user.kind !== 'user' && user.kind !== 'app')
        throw new Unauthenticated('the forwarded certificate is not a user certificate');
      const agent = `agent "${who.hostName ?? who.name}"`;
      const lock = await this.d.locks.find({
        user: user.name,
        botInstance: user.bot?.instance,
        node: { name: who.hostName ?? who.name, hostId: who.name },
        resource: `app/${req.app}`,
      });
      if (lock) {
        const t = lock.target;
        throw lockedError(t.resource ? `app "${req.app}"` : t.node ? agent : `user "${user.name}"`, lock);
      }
      const served = (await this.d.resources.list('app')).find((r) => r.hostId === who.name && r.name === req.app);
      if (!served) throw new AccessDenied(`${agent} does not serve app "${req.app}"`);
      const uri = served.spec.uri;
      if (typeof uri !== 'string') throw new AccessDenied(`app "${req.app}" has no uri in its heartbeat`);
      checkAppAccess(await this.d.roles.rolesOf(user.roles), req.app, served.labels);
      const notAfter = Date.parse(new X509Certificate(Buffer.from(req.cert, 'base64')).validTo);
      const expires = Math.min(notAfter, now + APP_TOKEN_MAX_MS);
      const token = await signAppToken(this.d.cas.current('jwt').tls!, {
        issuer: this.d.cluster,
        audience: uri,
        username: user.name,
        roles: user.roles,
        traits: user.traits ?? {},
        issuedAt: now,
        expires,
      });
      return { token, expires: new Date(expires).toISOString() };
    } catch (err) {
      await refuse((err as Error).message, user?.name ?? '');
      throw err;
    }
  }
}
