import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { privateDir } from '../config/privateDir.ts';
import { pemBundle } from '../crypto/pem.ts';
import { parseCert } from '../crypto/sshcert.ts';
import { Unauthenticated } from '../errors.ts';
import { profileFromIdentityFile } from './identityFile.ts';

/** Where the client keeps its state: TP_HOME, default ~/.tp. */
export function tpHome(): string {
  return process.env.TP_HOME ?? join(homedir(), '.tp');
}

/** What `tp login` leaves behind for one proxy. */
export interface ProfileData {
  proxy: string;
  user: string;
  cluster: string;
  /** Default login for `tp ssh` (the user's first allowed login). */
  logins: string[];
  insecure?: boolean;
  sshJump?: string;
}

/** Files of the active profile. */
export interface Profile extends ProfileData {
  dir: string;
  keyPath: string;
  certPath: string;
  tlsKeyPath: string;
  tlsCertPath: string;
  casPath: string;
  knownHostsPath: string;
  /** Epoch ms when the certificates expire. */
  expires: number;
  /** Set when the profile comes from an identity file (`tp -i FILE`, TP_IDENTITY): its path. */
  identityFile?: string;
  /** The key material, when held in memory (identity files) rather than in the files named above. */
  material?: ProfileTexts;
}

/** A profile's keys, certificates and trusted CAs as text. */
export interface ProfileTexts {
  sshKey: string;
  sshCert: string;
  tlsKey: string;
  tlsCert: string;
  /** PEM TLS CA certificates. */
  cas: string;
  /** known_hosts lines (`@cert-authority`). */
  knownHosts: string;
}

/** The profile's key material, from memory or from its files (read when asked, so renewed files are picked up). */
export function profileTexts(p: Profile): ProfileTexts {
  if (p.material) return p.material;
  const read = (f: string) => readFileSync(f, 'utf8');
  return {
    sshKey: read(p.keyPath),
    sshCert: read(p.certPath).trim(),
    tlsKey: read(p.tlsKeyPath),
    tlsCert: read(p.tlsCertPath),
    cas: read(p.casPath),
    knownHosts: read(p.knownHostsPath),
  };
}

/** The directory of one proxy's keys and certificates under TP_HOME (or under `home` when given). */
export function profileKeysDir(proxy: string, home = tpHome()): string {
  return join(home, 'keys', proxy.replace(/[^A-Za-z0-9_.-]/g, '_'));
}

function paths(dir: string) {
  return {
    dir,
    keyPath: join(dir, 'key'),
    certPath: join(dir, 'key-cert.pub'),
    tlsKeyPath: join(dir, 'tls.key'),
    tlsCertPath: join(dir, 'tls.crt'),
    casPath: join(dir, 'cas.pem'),
    knownHostsPath: join(dir, 'known_hosts'),
  };
}

/** Key material to store: private keys stay 0600 and never leave this machine. */
export interface ProfileMaterial {
  sshKey: string;
  sshPublicKey: string;
  sshCert: string;
  tlsKey: string;
  tlsCert: string;
  tlsCa: string[];
  hostCa: string[];
}

/** Writes the profile and its keys, and makes it the active one. */
export function saveProfile(data: ProfileData, m: ProfileMaterial): Profile {
  const dir = profileKeysDir(data.proxy);
  privateDir(tpHome(), 'tp home');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const p = paths(dir);
  const write = (path: string, text: string, mode: number) => {
    writeFileSync(path, text, { mode });
    chmodSync(path, mode);
  };
  write(p.keyPath, m.sshKey, 0o600);
  write(join(dir, 'key.pub'), `${m.sshPublicKey}\n`, 0o644);
  write(p.certPath, `${m.sshCert}\n`, 0o644);
  write(p.tlsKeyPath, m.tlsKey, 0o600);
  write(p.tlsCertPath, m.tlsCert, 0o644);
  write(p.casPath, pemBundle(m.tlsCa), 0o644);
  write(p.knownHostsPath, knownHostsText(m.hostCa), 0o644);
  write(join(tpHome(), 'profile.json'), `${JSON.stringify(data, null, 2)}\n`, 0o600);
  return loadProfile()!;
}

const knownHostsText = (hostCa: string[]) => hostCa.map((k) => `@cert-authority * ${k}\n`).join('');

/**
 * Replaces the profile's trusted host and TLS CAs with the cluster's current ones (during a CA rotation both old
 * and new), as learned over a connection this profile's trust verified. Returns true when anything changed.
 */
export function refreshTrust(p: Profile, hostCa: string[], tlsCa: string[]): boolean {
  // An identity file is kept fresh by the bot that writes it (`tp bot start` follows rotations on renewal).
  if (p.identityFile) return false;
  if (hostCa.length === 0 || tlsCa.length === 0) return false;
  let changed = false;
  const update = (path: string, text: string) => {
    if (existsSync(path) && readFileSync(path, 'utf8') === text) return;
    writeFileSync(`${path}.tmp`, text, { mode: 0o644 });
    renameSync(`${path}.tmp`, path);
    changed = true;
  };
  update(p.knownHostsPath, knownHostsText(hostCa));
  update(p.casPath, pemBundle(tlsCa));
  return changed;
}

/** The active profile: the identity file in TP_IDENTITY (`tp -i FILE`) when set, else `tp login`'s; or undefined. */
export function loadProfile(): Profile | undefined {
  if (process.env.TP_IDENTITY) return profileFromIdentityFile(process.env.TP_IDENTITY);
  const file = join(tpHome(), 'profile.json');
  if (!existsSync(file)) return undefined;
  const data = JSON.parse(readFileSync(file, 'utf8')) as ProfileData;
  const p = paths(profileKeysDir(data.proxy));
  if (!existsSync(p.certPath)) return undefined;
  const cert = parseCert(readFileSync(p.certPath, 'utf8'));
  return { ...data, ...p, expires: Number(cert.validBefore) * 1000 };
}

/** The active profile if its certificates are still valid; throws Unauthenticated with what to do otherwise. */
export function requireProfile(now = Date.now()): Profile {
  const p = loadProfile();
  if (!p) throw new Unauthenticated('not logged in: run `tp login --proxy HOST:PORT --user NAME`');
  if (p.identityFile && p.expires <= now)
    throw new Unauthenticated(
      `identity file ${p.identityFile} expired at ${new Date(p.expires).toISOString()}: is \`tp bot start\` running to renew it?`,
    );
  if (p.expires <= now)
    throw new Unauthenticated(`your certificate expired at ${new Date(p.expires).toISOString()}: run \`tp login\``);
  return p;
}

/** Deletes the active profile's keys and the profile itself. */
export function removeProfile(): ProfileData | undefined {
  const file = join(tpHome(), 'profile.json');
  if (!existsSync(file)) return undefined;
  const data = JSON.parse(readFileSync(file, 'utf8')) as ProfileData;
  rmSync(profileKeysDir(data.proxy), { recursive: true, force: true });
  rmSync(file, { force: true });
  return data;
}
