import type { TokenTestResult } from '../../api/joinMethodSchemas.ts';
import type { Clock } from '../../clock.ts';
import { AccessDenied, NotFound } from '../../errors.ts';
import type { Authorizer, Emit } from '../authorizer.ts';
import type { BotIdentityOps } from '../botIdentityOps.ts';
import { type BotKeys, botUser } from '../botOps.ts';
import type { LoginResponse } from '../certOps.ts';
import type { Identity } from '../identity.ts';
import { type LockStore, lockedError } from '../locks.ts';
import type { UserStore } from '../users.ts';
import { IdTokenRefused, issuerKeys, verifyCiToken } from './idToken.ts';
import { type AllowRule, type JoinMethod, judgeClaims, refusalSentence } from './rules.ts';
import type { JoinMethodStore } from './store.ts';

/** GitHub Actions' ID token issuer. */
export const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';

/** What the secretless join reads and writes. */
export interface CiJoinDeps {
  authz: Authorizer;
  emit: Emit;
  clock: Clock;
  cluster: string;
  methods: JoinMethodStore;
  users: UserStore;
  locks: LockStore;
  bots: Pick<BotIdentityOps, 'startInstance'>;
}

/** What an admin asks for with `tp tokens add --join-method github|oidc`. */
export interface NewJoinMethod {
  name: string;
  method: 'github' | 'oidc';
  bot: string;
  issuer?: string;
  audience?: string;
  jwks?: string;
  allow: AllowRule[];
}

/** Secretless bot joins: join methods (admins) and the join of a CI job proven by its issuer's ID token. */
export class CiJoinOps {
  constructor(private readonly d: CiJoinDeps) {}

  /** Adds a join method for an existing bot; the issuer defaults to GitHub's, the audience to the cluster name. */
  async add(who: Identity, req: NewJoinMethod): Promise<JoinMethod> {
    await this.d.authz.authorize(who, 'token', 'create');
    const user = await this.d.users.find(botUser(req.bot));
    if (!user?.bot) throw new NotFound(`no bot "${req.bot}" (see \`tp bots ls\`)`);
    if (req.method === 'oidc' && !req.issuer) throw new AccessDenied('--join-method oidc needs --issuer-url');
    const m: JoinMethod = {
      name: req.name,
      method: req.method,
      bot: user.name,
      issuer: req.issuer ?? GITHUB_ISSUER,
      audience: req.audience ?? this.d.cluster,
      ...(req.jwks ? { jwks: req.jwks } : {}),
      allow: req.allow,
      createdAt: new Date(this.d.clock.now()).toISOString(),
      createdBy: who.name,
    };
    await this.d.methods.create(m);
    await this.d.emit({ type: 'token.create', user: who.name, bot: req.bot, join_method: m.method, token_id: m.name });
    return m;
  }

  /** Every join method (admins). */
  async list(who: Identity): Promise<JoinMethod[]> {
    await this.d.authz.authorize(who, 'token', 'list');
    return this.d.methods.list();
  }

  /** Deletes a join method (admins). */
  async remove(who: Identity, name: string): Promise<void> {
    await this.d.authz.authorize(who, 'token', 'delete');
    await this.d.methods.remove(name);
    await this.d.emit({ type: 'token.delete', user: who.name, token_id: name });
  }

  /** Shows an admin how the method judges `idToken`: each token check, each rule and the claim values. */
  async test(who: Identity, name: string, idToken: string): Promise<TokenTestResult> {
    await this.d.authz.authorize(who, 'token', 'read');
    const m = await this.d.methods.get(name);
    let claims: Record<string, unknown> | undefined;
    let token: TokenTestResult['token'] = { ok: true };
    try {
      claims = await this.verify(m, idToken);
    } catch (err) {
      if (!(err instanceof IdTokenRefused)) throw err;
      token = { ok: false, check: err.check, error: err.message };
      claims = decodeUnverified(idToken);
    }
    const judged = judgeClaims(m.allow, claims ?? {});
    return { token, claims, rules: judged.verdicts, passed: token.ok ? judged.passed : undefined };
  }

  /**
   * Joins a CI job as the method's bot: the ID token must verify and match an allow rule. A refusal tells the client
   * which check or rule failed (no claim values); the audit event carries the values for the admin.
   */
  async join(req: BotKeys & { method: string; idToken: string }): Promise<LoginResponse & { instance: string }> {
    const now = this.d.clock.now();
    const refuse = async (err: Error, detail: Record<string, unknown> = {}): Promise<never> => {
      await this.d.emit({
        type: 'bot.join',
        success: false,
        error: err.message,
        join_method: req.method,
        ...detail,
        'addr.remote': req.remoteAddr,
      });
      throw err;
    };
    let m: JoinMethod;
    try {
      m = await this.d.methods.get(req.method);
    } catch (err) {
      return refuse(err instanceof NotFound ? new AccessDenied(`no join method "${req.method}"`) : (err as Error));
    }
    let claims: Record<string, unknown>;
    try {
      claims = await this.verify(m, req.idToken);
    } catch (err) {
      return refuse(err as Error, { check: err instanceof IdTokenRefused ? err.check : undefined });
    }
    const judged = judgeClaims(m.allow, claims);
    if (judged.passed === undefined)
      return refuse(new AccessDenied(refusalSentence(judged.verdicts)), { rules: judged.verdicts, sub: claims.sub });
    const user = await this.d.users.find(m.bot);
    if (!user?.bot) return refuse(new AccessDenied(`join method "${m.name}" is for "${m.bot}", which is not a bot`));
    const lock = await this.d.locks.find({ user: user.name });
    if (lock) return refuse(lockedError(`bot "${user.name}"`, lock));
    return this.d.bots.startInstance(user, req, now, {
      method: m.method,
      join_method: m.name,
      rule: judged.passed,
      sub: claims.sub,
      repository: claims.repository,
      ref: claims.ref,
    });
  }

  private async verify(m: JoinMethod, idToken: string): Promise<Record<string, unknown>> {
    const now = this.d.clock.now();
    const keys = await issuerKeys(m.issuer, m.jwks, now);
    return verifyCiToken(idToken, { keys, issuer: m.issuer, audience: m.audience, now });
  }
}

/** The claims of a token that failed verification, for the admin's `tp tokens test` only (never trusted). */
function decodeUnverified(token: string): Record<string, unknown> | undefined {
  try {
    const part = token.split('.')[1] ?? '';
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof SyntaxError) return undefined;
    throw err;
  }
}
