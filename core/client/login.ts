import { readFileSync } from 'node:fs';
import { ApiClient } from '../api/client.ts';
import { LoginResponseSchema } from '../api/schemas.ts';
import { type ProxyPing, ProxyPingSchema } from '../api/webSchemas.ts';
import { encodeOpenSSHPrivateKey, formatAuthorizedKey, generateKeyPair, sshPublicBlob } from '../crypto/keys.ts';
import { BadParameter, isCertificateError, NotFound } from '../errors.ts';
import { proxyTlsError } from './nodeConnection.ts';
import { loadProfile, type Profile, profileTexts, saveProfile } from './profile.ts';

/** How the client decides to trust the proxy's TLS certificate. */
export interface ProxyTrust {
  /** Skip verification (first contact with a self-signed proxy; prints a warning in the CLI). */
  insecure?: boolean;
  /** A CA bundle file to trust. */
  caFile?: string;
}

/** An API client for the proxy's web API: trusted by the saved profile's CA, a given file, system CAs, or not at all. */
export function proxyApi(proxy: string, trust: ProxyTrust, identity?: { cert: string; key: string }): ApiClient {
  const saved = loadProfile();
  let ca: string | undefined;
  if (trust.caFile) ca = readFileSync(trust.caFile, 'utf8');
  else if (saved && saved.proxy === proxy) ca = profileTexts(saved).cas;
  return new ApiClient([proxy], {
    ca,
    cert: identity?.cert,
    key: identity?.key,
    insecure: trust.insecure && !ca,
    serverRole: 'proxy',
  });
}

/**
 * Reaches the proxy and asks who it is. When the saved profile's CA no longer verifies the proxy (the cluster
 * rotated its CAs), --insecure means first contact again; without it the error says what happened.
 */
export async function pingProxy(proxy: string, trust: ProxyTrust): Promise<{ api: ApiClient; ping: ProxyPing }> {
  const api = proxyApi(proxy, trust);
  try {
    return { api, ping: await api.send(ProxyPingSchema, 'GET', '/webapi/ping') };
  } catch (err) {
    if (err instanceof NotFound)
      throw new BadParameter(
        `${proxy} answers HTTPS but is not a tp proxy (no /webapi/ping); is it the auth server's port? ` +
          "Give the proxy's address (the one `tp start` prints, port 3080 by default)",
        {},
        { cause: err },
      );
    if (!isCertificateError(err)) throw err;
    if (!trust.insecure || trust.caFile)
      throw proxyTlsError(proxy, err as Error, { profile: loadProfile()?.proxy === proxy, caFile: trust.caFile });
    const fresh = new ApiClient([proxy], { insecure: true });
    return { api: fresh, ping: await fresh.send(ProxyPingSchema, 'GET', '/webapi/ping') };
  }
}

export interface LoginInput {
  proxy: string;
  user: string;
  password: string;
  otp?: string;
  ttlMs?: number;
  trust: ProxyTrust;
}

/** The certificates a login returns for the client's keys. */
export interface IssuedCerts {
  sshCert: string;
  tlsCert: string;
  tlsCa: string[];
  hostCa: string[];
  logins: string[];
  cluster: string;
  username: string;
}

/** Fresh client keys: the private halves never leave this machine. */
export function newClientKeys() {
  const ssh = generateKeyPair('ed25519');
  const tls = generateKeyPair('p256');
  return {
    ssh,
    tls,
    sshPublicKey: formatAuthorizedKey(sshPublicBlob(ssh.publicKey)),
    tlsPublicKey: tls.publicKey.export({ type: 'spki', format: 'pem' }) as string,
  };
}

/** Saves a profile from certificates issued for `keys` (password and SSO logins alike). */
export function saveLogin(
  proxy: string,
  trust: ProxyTrust,
  ping: ProxyPing,
  keys: ReturnType<typeof newClientKeys>,
  r: IssuedCerts,
): Profile {
  return saveProfile(
    {
      proxy,
      user: r.username,
      cluster: r.cluster,
      logins: r.logins,
      insecure: trust.insecure,
      sshJump: ping.sshJump,
    },
    {
      sshKey: encodeOpenSSHPrivateKey(keys.ssh.privateKey, `${r.username}@${r.cluster}`),
      sshPublicKey: keys.sshPublicKey,
      sshCert: r.sshCert,
      tlsKey: keys.tls.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
      tlsCert: r.tlsCert,
      tlsCa: r.tlsCa,
      hostCa: r.hostCa,
    },
  );
}

/** Makes fresh keys here, exchanges them (with password and code) for certificates, and saves the profile. */
export async function login(i: LoginInput): Promise<Profile> {
  const { api, ping } = await pingProxy(i.proxy, i.trust);
  const keys = newClientKeys();
  const r = await api.send(LoginResponseSchema, 'POST', '/webapi/login', {
    username: i.user,
    password: i.password,
    otp: i.otp,
    sshPublicKey: keys.sshPublicKey,
    tlsPublicKey: keys.tlsPublicKey,
    ttlMs: i.ttlMs,
  });
  return saveLogin(i.proxy, i.trust, ping, keys, r);
}
