import { createHash } from 'node:crypto';
import * as v from 'valibot';
import type { LoginResponse } from '../certOps.ts';
import type { SsoOutcome } from './identify.ts';

// The SSO login's shapes: what starts a login, what the person confirms, the callback's answer, and the request as
// kept in the backend (its schema and keys).

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
  /** cli/test: the client's loopback URL the browser is sent to with the sealed answer. */
  clientRedirect?: string;
  /** cli/test: the X25519 public key (base64url) the answer is sealed to; only the client holds its private half. */
  clientKey?: string;
  /** web: SHA-256 (hex) of the value of a cookie set in the browser that started the login. */
  bindingHash?: string;
  /**
   * web: the private SSH key the proxy made for the session, kept with the request (as web sessions are) so the
   * provider may send the browser back to any proxy of the cluster.
   */
  webKey?: string;
}

/** What the person confirms in the browser before a command-line login's answer goes to the client. */
export interface SsoConfirmation {
  id: string;
  /** The per-login value the confirmation page posts back (auth keeps only its hash). */
  token: string;
  mode: 'cli' | 'test';
  cluster: string;
  connector: string;
  clientRedirect: string;
  username: string;
  roles: string[];
}

/** The answer to a provider's callback. A failed command-line login carries the sealed error for its client. */
export type SsoCallbackResult =
  | { ok: true; mode: 'web'; certs: LoginResponse; webKey: string }
  | { ok: true; mode: 'cli' | 'test'; confirm: SsoConfirmation }
  | { ok: false; mode: SsoMode; error: { code: string; message: string }; redirect?: string };

/** A login request as kept in the backend until its callback and confirmation. */
export interface SsoRequest extends SsoBegin {
  id: string;
  codeVerifier: string;
  nonce: string;
  expires: number;
  /** cli/test, after the callback: what the provider said, waiting for the person's confirmation. */
  pending?: SsoOutcome;
  confirmHash?: string;
}

const opt = v.optional(v.string());
/** A login request as stored, checked when read (see core/backend/json.ts); the outcome auth wrote is kept as is. */
export const SsoRequestSchema: v.GenericSchema<unknown, SsoRequest> = v.looseObject({
  id: v.string(),
  connector: v.string(),
  mode: v.picklist(['cli', 'web', 'test']),
  redirectUri: v.string(),
  codeVerifier: v.string(),
  nonce: v.string(),
  expires: v.number(),
  sshPublicKey: opt,
  tlsPublicKey: opt,
  ttlMs: v.optional(v.number()),
  clientRedirect: opt,
  clientKey: opt,
  bindingHash: opt,
  webKey: opt,
  pending: v.optional(v.custom<SsoOutcome>((x) => typeof x === 'object' && x !== null, 'not an SSO outcome')),
  confirmHash: opt,
});

/** SHA-256 of `s`, hex: what is kept of states, cookie bindings and confirmation tokens. */
export const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
/** Where a login request is kept. */
export const requestKey = (id: string) => `/sso_requests/${id}`;
/** Where a login's state points to its request (kept hashed). */
export const stateKey = (state: string) => `/sso_states/${sha256(state)}`;
