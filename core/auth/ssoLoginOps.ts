import { createHash, timingSafeEqual } from 'node:crypto';
import type { Backend } from '../backend/index.ts';
import { decodeDoc } from '../backend/json.ts';
import { takeOnce } from '../backend/takeOnce.ts';
import type { Clock } from '../clock.ts';
import { AccessDenied, BadParameter, NotFound, TpError } from '../errors.ts';
import type { IdSource } from '../ids.ts';
import type { Authorizer, Emit } from './authorizer.ts';
import type { CertOps, LoginResponse } from './certOps.ts';
import type { Identity } from './identity.ts';
import type { LockStore } from './locks.ts';
import { SsoAccounts } from './sso/accounts.ts';
import { answerRedirect, type SsoAnswer } from './sso/answer.ts';
import type { ConnectorStore } from './sso/connectors.ts';
import { identify, type SsoOutcome } from './sso/identify.ts';
import {
  requestKey,
  type SsoBegin,
  type SsoCallbackResult,
  type SsoConfirmation,
  type SsoRequest,
  SsoRequestSchema,
  sha256,
  stateKey,
} from './sso/loginRequest.ts';
import { checkLoopback } from './sso/mapping.ts';
import { providerFor } from './sso/providers.ts';
import type { UserStore } from './users.ts';

const TTL_MS = 10 * 60_000;
const sameHash = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/** What the SSO login flow reads and writes; `certs` issues the certificates of a finished login. */
export interface SsoLoginOpsDeps {
  authz: Authorizer;
  emit: Emit;
  backend: Backend;
  clock: Clock;
  cluster: string;
  connectors: ConnectorStore;
  users: UserStore;
  locks: LockStore;
  certs: Pick<CertOps, 'certsFor'>;
  ids: IdSource;
}

/**
 * The single sign-on login flow. Every login is one request with its own state, PKCE verifier and nonce, kept ten
 * minutes and usable once. A web login comes back to the browser that started it (a cookie binding) and gets its
 * certificates at once. A command-line login's answer is never kept for pickup: after the person confirms in the
 * browser, it is sealed to the client's key and handed to the browser in a redirect to the client's loopback
 * listener, so it reaches only the machine where that client waits and only that client reads it. Users are
 * created on their first SSO login, bound to their provider account, and take their roles from the mapping.
 */
export class SsoLoginOps {
  private readonly accounts: SsoAccounts;

  constructor(private readonly d: SsoLoginOpsDeps) {
    this.accounts = new SsoAccounts(d);
  }

  /** `n` fresh random bytes, base64url: request IDs, states, PKCE verifiers, nonces and confirmation tokens. */
  private b64url(n: number): string {
    return this.d.ids.bytes(n).toString('base64url');
  }

  /** Starts a login: stores the request and returns the provider URL to send the browser to. */
  async begin(who: Identity, b: SsoBegin): Promise<{ id: string; url: string }> {
    await this.d.authz.authorize(who, 'login');
    const c = await this.d.connectors.get(b.connector);
    if (b.mode !== 'web') {
      checkLoopback(b.clientRedirect);
      if (!b.clientKey) throw new BadParameter('a command-line login needs the key its answer is sealed to');
    } else if (!b.bindingHash) throw new BadParameter('a web login needs a browser binding');
    if (b.mode !== 'test' && (!b.sshPublicKey || !b.tlsPublicKey))
      throw new BadParameter('a login needs the public keys to certify');
    const id = this.b64url(16);
    const state = this.b64url(24);
    const req: SsoRequest = {
      ...b,
      id,
      codeVerifier: this.b64url(48),
      nonce: this.b64url(24),
      expires: this.d.clock.now() + TTL_MS,
    };
    const codeChallenge = createHash('sha256').update(req.codeVerifier).digest('base64url');
    const url = await providerFor(c).authorizeUrl({
      state,
      codeChallenge,
      nonce: req.nonce,
      redirectUri: b.redirectUri,
      now: this.d.clock.now(),
    });
    await this.save(req);
    await this.d.backend.put({ key: stateKey(state), value: id, expires: req.expires });
    return { id, url };
  }

  /**
   * Takes the provider's callback: the state must be one we issued and not used (tampered and replayed callbacks
   * fail here), a web login must come back to the browser that started it, the code is exchanged with the PKCE
   * verifier and the identity checked and mapped to roles. A web login then gets its certificates; a
   * command-line login waits for the person's confirmation. Failures are audited.
   */
  async callback(
    who: Identity,
    cb: { state: string; code?: string; error?: string; errorDescription?: string; binding?: string },
  ): Promise<SsoCallbackResult> {
    await this.d.authz.authorize(who, 'login');
    const item = await takeOnce(this.d.backend, stateKey(cb.state));
    if (item === 'missing') {
      const message =
        'this sign-in link is not valid: its state is unknown, already used or expired (start the login again)';
      await this.d.emit({ type: 'sso.login', success: false, error: message });
      throw new AccessDenied(message);
    }
    if (item === 'taken') throw new AccessDenied('this sign-in link was already used; start the login again');
    const raw = await this.d.backend.get(requestKey(item.value));
    if (!raw) throw new AccessDenied('this login request expired; start the login again');
    const req = decodeDoc(SsoRequestSchema, raw.key, raw.value);
    let outcome: SsoOutcome | undefined;
    try {
      outcome = await this.identify(req, cb);
      if (req.mode === 'web') {
        const certs = await this.issue(req, outcome);
        await this.d.backend.deleteIf(raw.key, { revision: raw.revision });
        return { ok: true, mode: 'web', certs, webKey: req.webKey! };
      }
      if (req.mode === 'cli') await this.accounts.mayLogIn(req.connector, outcome);
      const token = this.b64url(24);
      await this.save({ ...req, pending: outcome, confirmHash: sha256(token) });
      const confirm: SsoConfirmation = {
        id: req.id,
        token,
        mode: req.mode,
        cluster: this.d.cluster,
        connector: req.connector,
        clientRedirect: req.clientRedirect!,
        username: outcome.username,
        roles: outcome.roles,
      };
      return { ok: true, mode: req.mode, confirm };
    } catch (err) {
      if (!(err instanceof TpError)) throw err;
      await this.refused(req, err.message, outcome);
      await this.d.backend.deleteIf(raw.key, { revision: raw.revision });
      const error = { code: err.code, message: err.message };
      if (req.mode === 'web') return { ok: false, mode: 'web', error };
      return { ok: false, mode: req.mode, error, redirect: this.redirect(req, { ok: false, error }) };
    }
  }

  /**
   * The person confirmed a command-line login on the page the callback showed: issues its certificates (a test
   * login only reports what the provider said) and returns the client's loopback URL with the sealed answer.
   * Once per login, and only with the token of its confirmation page.
   */
  async confirm(who: Identity, id: string, token: string): Promise<{ redirect: string }> {
    await this.d.authz.authorize(who, 'login');
    const req = await this.takePending(id, token);
    const outcome = req.pending!;
    if (req.mode === 'test') return { redirect: this.redirect(req, { ok: true, outcome }) };
    try {
      const certs = await this.issue(req, outcome);
      return { redirect: this.redirect(req, { ok: true, outcome, certs }) };
    } catch (err) {
      if (!(err instanceof TpError)) throw err;
      await this.refused(req, err.message, outcome);
      return { redirect: this.redirect(req, { ok: false, error: { code: err.code, message: err.message } }) };
    }
  }

  /** The person declined a command-line login on its confirmation page: it ends, nothing is issued. Audited. */
  async cancel(who: Identity, id: string, token: string): Promise<void> {
    await this.d.authz.authorize(who, 'login');
    const req = await this.takePending(id, token);
    await this.refused(req, 'the sign-in was cancelled on its confirmation page', req.pending);
  }

  /** A login waiting for confirmation, removed so that it is confirmed (or cancelled) once. */
  private async takePending(id: string, token: string): Promise<SsoRequest> {
    const raw = await this.d.backend.get(requestKey(id));
    const req = raw ? decodeDoc(SsoRequestSchema, raw.key, raw.value) : undefined;
    if (!raw || !req?.pending || !req.confirmHash)
      throw new NotFound('this sign-in is not waiting for confirmation (it was confirmed, cancelled or expired)');
    if (!sameHash(sha256(token), req.confirmHash))
      throw new AccessDenied('this confirmation does not belong to the sign-in; start the login again');
    if (!(await this.d.backend.deleteIf(raw.key, { revision: raw.revision })))
      throw new NotFound('this sign-in was already confirmed or cancelled');
    return req;
  }

  private redirect(req: SsoRequest, answer: SsoAnswer): string {
    return answerRedirect(req.clientRedirect!, req.clientKey!, req.id, answer);
  }

  private async refused(req: SsoRequest, error: string, outcome: SsoOutcome | undefined): Promise<void> {
    await this.d.emit({
      type: 'sso.login',
      success: false,
      connector: req.connector,
      error,
      // Who tried (a refused login names the account it came from, e.g. one that collided with another's name).
      ...(outcome && { user: outcome.username, issuer: outcome.subject.issuer, subject: outcome.subject.subject }),
    });
  }

  private async save(req: SsoRequest): Promise<void> {
    await this.d.backend.put({ key: requestKey(req.id), value: JSON.stringify(req), expires: req.expires });
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
    return identify(await this.d.connectors.get(req.connector), {
      code: cb.code,
      codeVerifier: req.codeVerifier,
      nonce: req.nonce,
      redirectUri: req.redirectUri,
      now: this.d.clock.now(),
    });
  }

  /** Creates or updates the user, issues the login's certificates, and audits the login. */
  private async issue(req: SsoRequest, outcome: SsoOutcome): Promise<LoginResponse> {
    const user = await this.accounts.upsertUser(req.connector, outcome);
    const now = this.d.clock.now();
    const certs = await this.d.certs.certsFor(user, req.sshPublicKey!, req.tlsPublicKey!, req.ttlMs, now);
    await this.d.emit({ type: 'sso.login', user: user.name, connector: req.connector, roles: outcome.roles });
    await this.d.emit({ type: 'user.login', user: user.name, method: `sso:${req.connector}` });
    return certs;
  }
}
