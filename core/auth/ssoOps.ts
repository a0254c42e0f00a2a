import { createHash, randomBytes } from 'node:crypto';
import { takeOnce } from '../backend/takeOnce.ts';
import { AccessDenied, AlreadyExists, BadParameter, NotFound, TpError } from '../errors.ts';
import type { LoginResponse } from './certOps.ts';
import type { Identity } from './identity.ts';
import { lockedError } from './locks.ts';
import type { AuthService } from './service.ts';
import { type PublicConnector, publicConnector, type SsoConnector } from './sso/connectors.ts';
import { githubAuthorizeUrl } from './sso/github.ts';
import { identify, type SsoOutcome } from './sso/identify.ts';
import { checkLoopback } from './sso/mapping.ts';
import { discover, oidcAuthorizeUrl } from './sso/oidc.ts';
import { checkSubject } from './sso/subjects.ts';
import type { StoredUser } from './users.ts';

/** How a login started: `tp login --auth` (cli), the web UI (web), or `tp sso test` (test: no user, no certs). */
export type SsoMode = 'cli' | 'web' | 'test';

/** What a login needs to start. */
export interface SsoBegin {
  connector: string;
  mode: SsoMode;
  /** The proxy's callback URL registered with the provider. */
  redirectUri: string;
  sshPublicKey?: string;
  tlsPublicKey?: string;
  ttlMs?: number;
  /** cli/test: the client's loopback URL the browser returns to. */
  clientRedirect?: string;
  /** cli/test: SHA-256 (hex) of the secret only the client knows, needed to collect the result. */
  secretHash?: string;
  /** web: SHA-256 (hex) of the value of a cookie set in the browser that started the login. */
  bindingHash?: string;
  /**
   * web: the private SSH key the proxy made for the session, kept with the request (as web sessions are) so the
   * provider may send the browser back to any proxy of the cluster.
   */
  webKey?: string;
}

export type { SsoOutcome } from './sso/identify.ts';

interface SsoRequest extends SsoBegin {
  id: string;
  codeVerifier: string;
  nonce: string;
  expires: number;
  result?: { outcome: SsoOutcome; certs?: LoginResponse };
}

/** The answer to a provider's callback. Failures after the login is known still carry where to send the browser. */
export type SsoCallbackResult =
  | {
      ok: true;
      id: string;
      mode: SsoMode;
      clientRedirect?: string;
      outcome: SsoOutcome;
      certs?: LoginResponse;
      webKey?: string;
    }
  | { ok: false; mode?: SsoMode; clientRedirect?: string; id?: string; error: { code: string; message: string } };

const TTL_MS = 10 * 60_000;
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const b64url = (n: number) => randomBytes(n).toString('base64url');
const requestKey = (id: string) => `/sso_requests/${id}`;
const stateKey = (state: string) => `/sso_states/${sha256(state)}`;

/**
 * Single sign-on: connectors (GitHub OAuth2, OpenID Connect) as cluster resources, and the login flow. Every
 * login is one request with its own state, PKCE verifier and nonce, kept ten minutes and usable once. Users are
 * created on their first SSO login and take their roles from the mapping on every login.
 */
export class SsoOps {
  constructor(private readonly s: AuthService) {}

  /** Every connector without its secret (needs `sso` list). */
  async listConnectors(who: Identity): Promise<PublicConnector[]> {
    await this.s.authorize(who, 'sso', 'list');
    return (await this.s.deps.connectors.list()).map(publicConnector);
  }

  /** Names and kinds of the connectors, for login pages (anyone may know which buttons to show). */
  async loginChoices(): Promise<{ name: string; kind: string }[]> {
    return (await this.s.deps.connectors.list()).map((c) => ({ name: c.name, kind: c.kind }));
  }

  /** Stores a new connector after checking that every role its mapping names exists; audited. */
  async createConnector(who: Identity, c: SsoConnector): Promise<PublicConnector> {
    await this.s.authorize(who, 'sso', 'create');
    const wanted = [...new Set((c.kind === 'github' ? c.teamsToRoles : c.claimsToRoles).flatMap((m) => m.roles))];
    const known = (await this.s.rolesOf(wanted)).map((r) => r.metadata.name);
    const unknown = wanted.filter((r) => !known.includes(r));
    if (unknown.length)
      throw new NotFound(`unknown role(s) in the mapping: ${unknown.join(', ')} (see \`tp roles ls\`)`);
    await this.s.deps.connectors.create(c);
    await this.s.emit({ type: 'sso.create', user: who.name, target: c.name, kind: c.kind });
    return publicConnector(c);
  }

  /** Removes a connector; its users stay but can no longer log in through it. Audited. */
  async deleteConnector(who: Identity, name: string): Promise<void> {
    await this.s.authorize(who, 'sso', 'delete');
    await this.s.deps.connectors.remove(name);
    await this.s.emit({ type: 'sso.delete', user: who.name, target: name });
  }

  /** Checks that the provider is reachable and well-formed (OIDC: discovery and keys; GitHub: the endpoint). */
  async checkConnector(who: Identity, name: string): Promise<{ ok: true; detail: string }> {
    await this.s.authorize(who, 'sso', 'read');
    const c = await this.s.deps.connectors.get(name);
    if (c.kind === 'oidc') {
      const { doc } = await discover(c.issuer, 0);
      const keys = await fetch(doc.jwks_uri, { signal: AbortSignal.timeout(10_000) })
        .then((r) => r.json() as Promise<{ keys?: unknown[] }>)
        .catch((err: unknown) => {
          throw new AccessDenied(`cannot read the provider's keys at ${doc.jwks_uri}: ${(err as Error).message}`);
        });
      if (!keys.keys?.length) throw new AccessDenied(`the provider publishes no signing keys at ${doc.jwks_uri}`);
      return {
        ok: true,
        detail: `issuer ${doc.issuer}: discovery read, ${keys.keys.length} signing key(s) at ${doc.jwks_uri}`,
      };
    }
    const res = await fetch(c.endpointUrl, { signal: AbortSignal.timeout(10_000) }).catch((err: unknown) => {
      throw new AccessDenied(`cannot reach ${c.endpointUrl}: ${(err as Error).message}`);
    });
    return { ok: true, detail: `${c.endpointUrl} answers (HTTP ${res.status})` };
  }

  /** Starts a login: stores the request and returns the provider URL to send the browser to. */
  async begin(who: Identity, b: SsoBegin): Promise<{ id: string; url: string }> {
    await this.s.authorize(who, 'login');
    const c = await this.s.deps.connectors.get(b.connector);
    if (b.mode !== 'web') {
      checkLoopback(b.clientRedirect);
      if (!b.secretHash) throw new BadParameter('a CLI login needs a secret hash');
    } else if (!b.bindingHash) throw new BadParameter('a web login needs a browser binding');
    if (b.mode !== 'test' && (!b.sshPublicKey || !b.tlsPublicKey))
      throw new BadParameter('a login needs the public keys to certify');
    const id = b64url(16);
    const state = b64url(24);
    const req: SsoRequest = {
      ...b,
      id,
      codeVerifier: b64url(48),
      nonce: b64url(24),
      expires: this.s.deps.clock.now() + TTL_MS,
    };
    const codeChallenge = createHash('sha256').update(req.codeVerifier).digest('base64url');
    const url =
      c.kind === 'github'
        ? githubAuthorizeUrl(c, { state, codeChallenge, redirectUri: b.redirectUri })
        : await oidcAuthorizeUrl(c, { state, codeChallenge, nonce: req.nonce, redirectUri: b.redirectUri });
    await this.save(req);
    await this.s.deps.backend.put({ key: stateKey(state), value: id, expires: req.expires });
    return { id, url };
  }

  /**
   * Finishes a login when the provider sends the browser back: the state must be one we issued and not used
   * (tampered and replayed callbacks fail here), a web login must come back to the browser that started it, the
   * code is exchanged with the PKCE verifier, the identity checked and mapped to roles, the user created or
   * updated, and certificates issued. Failures are audited.
   */
  async callback(
    who: Identity,
    cb: { state: string; code?: string; error?: string; errorDescription?: string; binding?: string },
  ): Promise<SsoCallbackResult> {
    await this.s.authorize(who, 'login');
    const item = await takeOnce(this.s.deps.backend, stateKey(cb.state));
    if (item === 'missing') {
      const message =
        'this sign-in link is not valid: its state is unknown, already used or expired (start the login again)';
      await this.s.emit({ type: 'sso.login', success: false, error: message });
      throw new AccessDenied(message);
    }
    if (item === 'taken') throw new AccessDenied('this sign-in link was already used; start the login again');
    const raw = await this.s.deps.backend.get(requestKey(item.value));
    if (!raw) throw new AccessDenied('this login request expired; start the login again');
    const req = JSON.parse(raw.value) as SsoRequest;
    let outcome: SsoOutcome | undefined;
    try {
      outcome = await this.identify(req, cb);
      if (req.mode === 'test') {
        await this.save({ ...req, result: { outcome } });
        return { ok: true, id: req.id, mode: req.mode, clientRedirect: req.clientRedirect, outcome };
      }
      const user = await this.upsertUser(req.connector, outcome);
      const now = this.s.deps.clock.now();
      const certs = await this.s.certs.certsFor(user, req.sshPublicKey!, req.tlsPublicKey!, req.ttlMs, now);
      await this.s.emit({ type: 'sso.login', user: user.name, connector: req.connector, roles: outcome.roles });
      await this.s.emit({ type: 'user.login', user: user.name, method: `sso:${req.connector}` });
      if (req.mode === 'cli') await this.save({ ...req, result: { outcome, certs } });
      else await this.s.deps.backend.delete(raw.key);
      return {
        ok: true,
        id: req.id,
        mode: req.mode,
        clientRedirect: req.clientRedirect,
        outcome,
        certs,
        webKey: req.webKey,
      };
    } catch (err) {
      if (!(err instanceof TpError)) throw err;
      await this.s.emit({
        type: 'sso.login',
        success: false,
        connector: req.connector,
        error: err.message,
        // Who tried (a refused login names the account it came from, e.g. one that collided with another's name).
        ...(outcome && { user: outcome.username, issuer: outcome.subject.issuer, subject: outcome.subject.subject }),
      });
      return {
        ok: false,
        id: req.id,
        mode: req.mode,
        clientRedirect: req.clientRedirect,
        error: { code: err.code, message: err.message },
      };
    }
  }

  /** Hands a finished CLI or test login to the client that started it (once, and only with its secret). */
  async redeem(who: Identity, id: string, secret: string): Promise<{ outcome: SsoOutcome; certs?: LoginResponse }> {
    await this.s.authorize(who, 'login');
    const raw = await this.s.deps.backend.get(requestKey(id));
    if (!raw) throw new NotFound('no such login (it expired or was already collected)');
    const req = JSON.parse(raw.value) as SsoRequest;
    if (!req.secretHash || sha256(secret) !== req.secretHash) throw new AccessDenied('wrong secret for this login');
    if (!req.result) throw new NotFound('this login has not finished in the browser yet');
    await this.s.deps.backend.delete(raw.key);
    return req.result;
  }

  private async save(req: SsoRequest): Promise<void> {
    await this.s.deps.backend.put({ key: requestKey(req.id), value: JSON.stringify(req), expires: req.expires });
  }

  private async identify(
    req: SsoRequest,
    cb: { code?: string; error?: string; errorDescription?: string; binding?: string },
  ): Promise<SsoOutcome> {
    if (req.mode === 'web' && (!cb.binding || sha256(cb.binding) !== req.bindingHash))
      throw new AccessDenied('this login was started in another browser (or its cookie was lost); start it again here');
    if (cb.error)
      throw new AccessDenied(
        `the identity provider did not sign you in: ${cb.error}${cb.errorDescription ? ` (${cb.errorDescription})` : ''}`,
      );
    if (!cb.code) throw new BadParameter('the provider sent no code');
    return identify(await this.s.deps.connectors.get(req.connector), {
      code: cb.code,
      codeVerifier: req.codeVerifier,
      nonce: req.nonce,
      redirectUri: req.redirectUri,
      now: this.s.deps.clock.now(),
    });
  }

  /**
   * Creates the SSO user on first login, bound to the provider account; later logins of that account replace its
   * roles with the mapping's. Another account deriving the same name is refused (checkSubject).
   */
  private async upsertUser(connector: string, o: SsoOutcome): Promise<StoredUser> {
    const users = this.s.deps.users;
    checkSubject(o.username, await users.find(o.username), connector, o.subject);
    const lock = await this.s.deps.locks.find({ user: o.username });
    if (lock) throw lockedError(`user "${o.username}"`, lock);
    const user: StoredUser = {
      name: o.username,
      roles: o.roles,
      traits: { logins: [o.username] },
      createdAt: new Date(this.s.deps.clock.now()).toISOString(),
      sso: connector,
      ssoSubject: o.subject,
    };
    try {
      await users.create(user);
    } catch (err) {
      if (!(err instanceof AlreadyExists)) throw err;
      // Created meanwhile (by this account's other login, or by another account): the check decides, atomically.
      return users.update(o.username, (u) => {
        checkSubject(o.username, u, connector, o.subject);
        return { ...u, roles: o.roles };
      });
    }
    await this.s.emit({ type: 'user.create', user: o.username, target: o.username, roles: o.roles, connector });
    return user;
  }
}
