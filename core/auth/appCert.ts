// App certificates (`tp apps login`, `tp bot start --app`): an X.509 certificate for one web app only, from the
// cluster's TLS CA, that curl and scripts present on the app's public host. Its identity extension has kind `app`
// and the app's route (name, public address), so every path that wants a `user` certificate refuses it.
import type { BotCertInfo } from '../crypto/x509.ts';
import { issueTlsCert } from '../crypto/x509.ts';
import { BadParameter } from '../errors.ts';
import type { Traits } from '../rbac/index.ts';
import type { LoadedCa } from './cas.ts';
import { type AppRoute, identityFromCert } from './identity.ts';

export type { AppRoute } from './identity.ts';

/** Inputs of an app certificate: the user it names (as their own certificate does), the app, and the client's key. */
export interface AppCertRequest {
  tlsCa: LoadedCa;
  username: string;
  roles: string[];
  traits: Traits;
  /** The bot instance, for a bot's app certificate (locks on the instance stop it too). */
  bot?: BotCertInfo;
  route: AppRoute;
  /** SPKI PEM (ECDSA P-256), made by the client; its private key never reaches auth. */
  tlsPublicKey: string;
  /** The latest the certificate may be valid to (epoch ms): the user's own certificate's end, or sooner. */
  notAfter: number;
  now: number;
}

/**
 * Signs an app certificate: CN = the user, O = their roles, the identity extension `{kind: 'app', traits, route:
 * {app, public_addr}}`, clientAuth, valid from now (backdated by the clock skew) to `notAfter`.
 */
export async function issueAppCert(req: AppCertRequest): Promise<{ cert: string; expires: number }> {
  const ttlMs = req.notAfter - req.now;
  if (ttlMs <= 0) throw new BadParameter('the certificate this app certificate is asked with has expired');
  const cert = await issueTlsCert({
    ca: req.tlsCa.tls!,
    publicKey: req.tlsPublicKey,
    subject: {
      commonName: req.username,
      organization: req.roles,
      identity: {
        kind: 'app',
        traits: req.traits,
        route: { app: req.route.app, public_addr: req.route.publicAddr },
        ...(req.bot ? { bot: req.bot } : {}),
      },
    },
    now: req.now,
    ttlMs,
    usage: 'client',
  });
  return { cert, expires: req.notAfter };
}

/**
 * The app route of an app certificate (DER, as TLS presented it), or undefined for any other certificate. It does
 * not verify the certificate: callers read it from a peer the TLS handshake has verified.
 */
export function appRouteFromCert(der: Uint8Array): AppRoute | undefined {
  const id = identityFromCert(der);
  return id.kind === 'app' ? id.app : undefined;
}
