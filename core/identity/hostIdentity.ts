import { createPublicKey } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { privateDir } from '../config/privateDir.ts';
import {
  encodeOpenSSHPrivateKey,
  formatAuthorizedKey,
  generateKeyPair,
  parseOpenSSHPrivateKey,
  sshPublicBlob,
} from '../crypto/keys.ts';
import { NotFound } from '../errors.ts';

/** A joined host's identity (agent or proxy): its keys, certificates and the CAs it pinned at join. */
export interface HostIdentity {
  hostId: string;
  cluster: string;
  role: 'node' | 'proxy';
  /** OpenSSH private key PEM and its host certificate line. */
  sshKey: string;
  sshCert: string;
  /** PKCS#8 PEM key and X.509 certificate. */
  tlsKey: string;
  tlsCert: string;
  /** Pinned CAs: SSH user/host CA lines, TLS CA PEMs. */
  userCa: string[];
  hostCa: string[];
  tlsCa: string[];
}

/** Fresh keys for a joining host, and their public halves in the forms the join API takes. */
export function newHostKeys() {
  const ssh = generateKeyPair('ed25519');
  const tls = generateKeyPair('p256');
  return {
    sshKey: encodeOpenSSHPrivateKey(ssh.privateKey),
    tlsKey: tls.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    sshPublicKey: formatAuthorizedKey(sshPublicBlob(ssh.publicKey)),
    tlsPublicKey: tls.publicKey.export({ type: 'spki', format: 'pem' }) as string,
  };
}

/** The keys of a saved identity, with their public halves, to have them certified again (a restart keeps its keys). */
export function keysOf(id: Pick<HostIdentity, 'sshKey' | 'tlsKey'>): ReturnType<typeof newHostKeys> {
  const ssh = createPublicKey(parseOpenSSHPrivateKey(id.sshKey));
  return {
    sshKey: id.sshKey,
    tlsKey: id.tlsKey,
    sshPublicKey: formatAuthorizedKey(sshPublicBlob(ssh)),
    tlsPublicKey: createPublicKey(id.tlsKey).export({ type: 'spki', format: 'pem' }) as string,
  };
}

const FILE = 'identity.json';

/** Saves a host identity into `dir` (0600); it is read back at every start so the host keeps its ID and pins. */
export function saveHostIdentity(dir: string, id: HostIdentity): void {
  privateDir(dir, 'identity directory');
  writeFileSync(join(dir, FILE), JSON.stringify(id, null, 2), { mode: 0o600 });
}

/** Loads the identity saved by an earlier join, or undefined when this host never joined. */
export function loadHostIdentity(dir: string): HostIdentity | undefined {
  const path = join(dir, FILE);
  if (!existsSync(path)) return undefined;
  return JSON.parse(readFileSync(path, 'utf8')) as HostIdentity;
}

/** Like loadHostIdentity, but a missing identity is an error naming what to do. */
export function requireHostIdentity(dir: string): HostIdentity {
  const id = loadHostIdentity(dir);
  if (!id) throw new NotFound(`no identity in ${dir}: join first with --token`);
  return id;
}
