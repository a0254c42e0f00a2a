import { readFileSync } from 'node:fs';
import * as v from 'valibot';
import { pemBundle } from '../crypto/pem.ts';
import { parseCert } from '../crypto/sshcert.ts';
import { BadParameter, describe } from '../errors.ts';
import type { Profile } from './profile.ts';

/** An identity file's contents: everything a `tp` command needs in one file (`tp -i FILE`, TP_IDENTITY). */
const IdentityFileSchema = v.object({
  kind: v.literal('tp-identity'),
  version: v.literal(1),
  proxy: v.string(),
  cluster: v.string(),
  user: v.string(),
  logins: v.array(v.string()),
  sshKey: v.string(),
  sshPublicKey: v.string(),
  sshCert: v.string(),
  tlsKey: v.string(),
  tlsCert: v.string(),
  tlsCa: v.array(v.string()),
  hostCa: v.array(v.string()),
  /** The bot instance this identity belongs to (identities from `tp bot start`). */
  instance: v.optional(v.string()),
});

export type IdentityFileData = Omit<v.InferOutput<typeof IdentityFileSchema>, 'kind' | 'version'>;

/** The identity file's text (JSON; private keys inside: write it 0600). */
export function formatIdentityFile(d: IdentityFileData): string {
  return `${JSON.stringify({ kind: 'tp-identity', version: 1, ...d }, null, 2)}\n`;
}

/** Reads and checks an identity file; throws BadParameter naming the file when it is not one. */
export function readIdentityFile(path: string): IdentityFileData {
  try {
    return v.parse(IdentityFileSchema, JSON.parse(readFileSync(path, 'utf8')));
  } catch (err) {
    throw new BadParameter(`identity file ${path} is not readable: ${describe(err)}`, { path }, { cause: err });
  }
}

/** Reads an identity file into a profile held in memory (no profile directory, no prompt). */
export function profileFromIdentityFile(path: string): Profile {
  return profileFromIdentity(readIdentityFile(path), path);
}

/** An identity held in memory as a profile (`source` names it in errors: the file it came from, or will go to). */
export function profileFromIdentity(d: IdentityFileData, source: string): Profile {
  const path = source;
  const knownHosts = d.hostCa.map((k) => `@cert-authority * ${k}\n`).join('');
  return {
    proxy: d.proxy,
    user: d.user,
    cluster: d.cluster,
    logins: d.logins,
    dir: path,
    keyPath: path,
    certPath: path,
    tlsKeyPath: path,
    tlsCertPath: path,
    casPath: path,
    knownHostsPath: path,
    expires: Number(parseCert(d.sshCert).validBefore) * 1000,
    identityFile: path,
    material: {
      sshKey: d.sshKey,
      sshCert: d.sshCert,
      tlsKey: d.tlsKey,
      tlsCert: d.tlsCert,
      cas: pemBundle(d.tlsCa),
      knownHosts,
    },
  };
}
