import { type BotCerts, BotCertsSchema } from '../api/botSchemas.ts';
import { ApiClient } from '../api/client.ts';
import { pinnedClusterCas } from '../api/firstContact.ts';
import type { IdentityFileData } from '../client/identityFile.ts';
import { newClientKeys } from '../client/login.ts';
import { encodeOpenSSHPrivateKey, parseOpenSSHPrivateKey } from '../crypto/keys.ts';
import { signSsh } from '../crypto/sshsig.ts';
import { parseTlsCert } from '../crypto/x509.ts';
import { BadParameter } from '../errors.ts';
import { botRejoinMessage } from '../identity/botRejoin.ts';

/** A bot's identity as held in memory and written to DIR/identity, with the instance it belongs to. */
export type BotIdentity = IdentityFileData & { instance: string };

/** Keys of one certificate request; private halves stay here. */
export interface BotKeyPair {
  sshKey: string;
  sshPublicKey: string;
  tlsKey: string;
  tlsPublicKey: string;
}

/**
 * Keys for a join or renewal: a fresh TLS key every time; the SSH key of `keep` when given, so a stock ssh reading
 * DIR/key and DIR/key-cert.pub while a renewal lands never pairs a key with another key's certificate.
 */
export function newBotKeys(keep?: Pick<BotKeyPair, 'sshKey' | 'sshPublicKey'>): BotKeyPair {
  const k = newClientKeys();
  return {
    sshKey: keep?.sshKey ?? encodeOpenSSHPrivateKey(k.ssh.privateKey),
    sshPublicKey: keep?.sshPublicKey ?? k.sshPublicKey,
    tlsKey: k.tls.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    tlsPublicKey: k.tlsPublicKey,
  };
}

function identityOf(proxy: string, keys: BotKeyPair, r: BotCerts): BotIdentity {
  return {
    proxy,
    cluster: r.cluster,
    user: r.username,
    logins: r.logins,
    sshKey: keys.sshKey,
    sshPublicKey: keys.sshPublicKey,
    sshCert: r.sshCert,
    tlsKey: keys.tlsKey,
    tlsCert: r.tlsCert,
    tlsCa: r.tlsCa,
    hostCa: r.hostCa,
    instance: r.instance,
  };
}

/**
 * Joins as a bot through the proxy with a single-use token: learns the cluster CA (checked against `caPin`), then
 * presents the token and fresh public keys over TLS verified by that CA. Returns the new instance's identity.
 */
export async function joinBot(o: {
  proxy: string;
  token: string;
  caPin: string;
  ttlMs?: number;
}): Promise<BotIdentity> {
  const cas = await pinnedClusterCas(o.proxy, o.caPin);
  const keys = newBotKeys();
  const api = new ApiClient([o.proxy], { ca: cas.tlsCa, serverRole: 'proxy' });
  const r = await api.send(BotCertsSchema, 'POST', '/webapi/bots/join', {
    token: o.token,
    sshPublicKey: keys.sshPublicKey,
    tlsPublicKey: keys.tlsPublicKey,
    ttlMs: o.ttlMs,
  });
  return identityOf(o.proxy, keys, r);
}

/**
 * Joins as a bot with an ID token from the job's CI platform (the join method named `method`): learns the cluster
 * CA (checked against `caPin`), asks `idToken` for a token whose audience is the cluster, and presents it with fresh
 * public keys. Returns the new instance's identity.
 */
export async function joinBotWithIdToken(o: {
  proxy: string;
  method: string;
  caPin: string;
  idToken: (cluster: string) => Promise<string>;
  ttlMs?: number;
}): Promise<BotIdentity> {
  const cas = await pinnedClusterCas(o.proxy, o.caPin);
  const idToken = await o.idToken(cas.cluster);
  const keys = newBotKeys();
  const api = new ApiClient([o.proxy], { ca: cas.tlsCa, serverRole: 'proxy' });
  const r = await api.send(BotCertsSchema, 'POST', '/webapi/bots/join/id-token', {
    method: o.method,
    idToken,
    sshPublicKey: keys.sshPublicKey,
    tlsPublicKey: keys.tlsPublicKey,
    ttlMs: o.ttlMs,
  });
  return identityOf(o.proxy, keys, r);
}

/**
 * Renews with the current certificate (through the proxy, which passes it to auth) for `keys`: the next generation
 * and the cluster's current CAs (so a CA rotation is followed). A retry after a lost answer must send the same keys.
 * Throws the typed refusal when the instance is locked.
 */
export async function renewBot(cur: BotIdentity, keys: BotKeyPair, ttlMs?: number): Promise<BotIdentity> {
  const api = new ApiClient(
    [cur.proxy],
    { ca: cur.tlsCa, cert: cur.tlsCert, key: cur.tlsKey, serverRole: 'proxy' },
    15_000,
    '/webapi/auth',
  );
  const r = await api.send(BotCertsSchema, 'POST', '/v1/bots/renew', {
    sshPublicKey: keys.sshPublicKey,
    tlsPublicKey: keys.tlsPublicKey,
    ttlMs,
  });
  return identityOf(cur.proxy, keys, r);
}

/**
 * Rejoins after the certificate expired: the bound SSH key (registered at join, kept across renewals) signs the new
 * TLS key with the instance and its generation; auth allows it while the bot's rejoin budget lasts.
 */
export async function rejoinBot(cur: BotIdentity, keys: BotKeyPair, ttlMs?: number): Promise<BotIdentity> {
  const generation = parseTlsCert(cur.tlsCert).identity.bot?.generation;
  if (!generation) throw new BadParameter('this identity is not a bot instance (no generation in its certificate)');
  const signed = botRejoinMessage({
    cluster: cur.cluster,
    bot: cur.user,
    instance: cur.instance,
    generation,
    tlsPublicKey: keys.tlsPublicKey,
  });
  const signature = signSsh(parseOpenSSHPrivateKey(keys.sshKey), signed).toString('base64');
  const api = new ApiClient([cur.proxy], { ca: cur.tlsCa, serverRole: 'proxy' });
  const r = await api.send(BotCertsSchema, 'POST', '/webapi/bots/rejoin', {
    bot: cur.user,
    instance: cur.instance,
    generation,
    signature,
    sshPublicKey: keys.sshPublicKey,
    tlsPublicKey: keys.tlsPublicKey,
    ttlMs,
  });
  return identityOf(cur.proxy, keys, r);
}
