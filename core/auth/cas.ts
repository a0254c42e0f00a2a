import { createPrivateKey, type KeyObject } from 'node:crypto';
import * as v from 'valibot';
import type { PublicCa } from '../api/schemas.ts';
import type { Backend } from '../backend/index.ts';
import { getDoc } from '../backend/json.ts';
import { formatAuthorizedKey, generateKeyPair, parseAuthorizedKey, sshPublicBlob } from '../crypto/keys.ts';
import { createTlsCA, type TlsKeyPair } from '../crypto/x509.ts';
import { AlreadyExists, Unavailable } from '../errors.ts';

/**
 * The cluster's CAs: `user`/`host` (SSH), `tls` (every mTLS hop of tp itself), `db` (signs database servers'
 * certificates; agents verify databases against it) and `db_client` (signs the ephemeral client certificates agents
 * present to databases; databases trust it) and `jwt` (signs the identity tokens web apps get, ES256; the proxy
 * publishes its public keys as a JWKS). The database and JWT CAs never vouch for a tp identity.
 */
export type CaType = 'user' | 'host' | 'tls' | 'db' | 'db_client' | 'jwt';
export const CA_TYPES: CaType[] = ['user', 'host', 'tls', 'db', 'db_client', 'jwt'];

/** The CAs that are X.509 (the others are SSH). */
const X509_CA_NAMES: Partial<Record<CaType, (cluster: string) => string>> = {
  tls: (c) => c,
  db: (c) => `${c} database CA`,
  db_client: (c) => `${c} database client CA`,
  // A P-256 key in a self-signed certificate: it rotates like the others; only its public key is ever published.
  jwt: (c) => `${c} JWT CA`,
};

/** One CA key pair as stored: SSH CAs keep an authorized_keys line + PKCS#8 key, the TLS CA a cert + key. */
export interface StoredCaKeys {
  ssh?: { pub: string; priv: string };
  tls?: TlsKeyPair;
}

/** A CA as stored: the active keys sign; every key in `trusted` (active first) is accepted by verifiers. */
export interface StoredCa {
  type: CaType;
  cluster: string;
  active: StoredCaKeys;
  /** Keys still trusted besides the active one (during rotation). */
  additional: StoredCaKeys[];
  /** While a rotation runs: its ID and the outgoing and incoming keys, from which each phase's keys are derived. */
  rotating?: { id: string; old: StoredCaKeys; next: StoredCaKeys };
}

const KeysSchema = v.looseObject({
  ssh: v.optional(v.looseObject({ pub: v.string(), priv: v.string() })),
  tls: v.optional(v.looseObject({ cert: v.string(), key: v.string() })),
});

/** A CA as stored, checked when read (see core/backend/json.ts). */
export const StoredCaSchema: v.GenericSchema<unknown, StoredCa> = v.looseObject({
  type: v.picklist(CA_TYPES),
  cluster: v.string(),
  active: KeysSchema,
  additional: v.array(KeysSchema),
  rotating: v.optional(v.looseObject({ id: v.string(), old: KeysSchema, next: KeysSchema })),
});

/** A CA ready to sign: its parsed signing key plus everything trusted. */
export interface LoadedCa {
  stored: StoredCa;
  sshSigner?: KeyObject;
  sshTrusted: Buffer[];
  tls?: TlsKeyPair;
  tlsTrusted: string[];
}

const key = (t: CaType) => `/cas/${t}`;

/** Fresh keys for a CA of `type`. */
export async function makeCaKeys(type: CaType, cluster: string, now: number): Promise<StoredCaKeys> {
  const x509Name = X509_CA_NAMES[type];
  if (x509Name) return { tls: await createTlsCA(cluster, now, 10, x509Name(cluster)) };
  const kp = generateKeyPair('ed25519');
  const pub = formatAuthorizedKey(sshPublicBlob(kp.publicKey), `${cluster}-${type}-ca`);
  const priv = kp.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  return { ssh: { pub, priv } };
}

async function makeCa(type: CaType, cluster: string, now: number): Promise<StoredCa> {
  return { type, cluster, active: await makeCaKeys(type, cluster, now), additional: [] };
}

/** The public identity of one key pair (its authorized_keys line or PEM certificate), for comparing keys. */
export function caKeysId(k: StoredCaKeys): string {
  return k.ssh?.pub ?? k.tls?.cert ?? '';
}

/** The CA documents' storage key. */
export function caKey(t: CaType): string {
  return key(t);
}

/** Loads a CA for signing and verifying. */
export function loadCa(stored: StoredCa): LoadedCa {
  const all = [stored.active, ...stored.additional];
  return {
    stored,
    sshSigner: stored.active.ssh ? createPrivateKey(stored.active.ssh.priv) : undefined,
    sshTrusted: all.flatMap((k) => (k.ssh ? [parseAuthorizedKey(k.ssh.pub).blob] : [])),
    tls: stored.active.tls,
    tlsTrusted: all.flatMap((k) => (k.tls ? [k.tls.cert] : [])),
  };
}

/** The public part of a stored CA. */
export function publicCa(stored: StoredCa): PublicCa {
  const all = [stored.active, ...stored.additional];
  return {
    type: stored.type,
    cluster: stored.cluster,
    sshKeys: all.flatMap((k) => (k.ssh ? [k.ssh.pub] : [])),
    tlsCerts: all.flatMap((k) => (k.tls ? [k.tls.cert] : [])),
  };
}

/**
 * Returns the cluster's CAs, creating any that do not exist yet (a cluster made before a CA type existed gets it on
 * its first start after the upgrade; the CAs it had stay as they were). Safe when several auth servers start
 * at once on one database: creation is create-if-absent, and the loser loads the winner's CA.
 */
export async function ensureCas(b: Backend, cluster: string, now: number): Promise<Record<CaType, StoredCa>> {
  const out = {} as Record<CaType, StoredCa>;
  for (const type of CA_TYPES) {
    let doc = await getDoc(b, key(type), StoredCaSchema);
    if (!doc) {
      const fresh = await makeCa(type, cluster, now);
      try {
        await b.create({ key: key(type), value: JSON.stringify(fresh) });
      } catch (err) {
        if (!(err instanceof AlreadyExists)) throw err;
      }
      doc = await getDoc(b, key(type), StoredCaSchema);
    }
    if (!doc) throw new Unavailable(`CA ${type} vanished while being created`);
    out[type] = doc.value;
  }
  return out;
}
