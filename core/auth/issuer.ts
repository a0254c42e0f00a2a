import { parseAuthorizedKey } from '../crypto/keys.ts';
import { CLOCK_SKEW_MS } from '../crypto/skew.ts';
import { formatCert, signCert } from '../crypto/sshcert.ts';
import { type BotCertInfo, issueTlsCert } from '../crypto/x509.ts';
import { BadParameter } from '../errors.ts';
import { allowedLogins, maxSessionTtl, type Role, sshPermissions, type Traits } from '../rbac/index.ts';
import type { LoadedCa } from './cas.ts';

/** A user's certificate pair and what went into it. */
export interface UserCerts {
  /** OpenSSH `*-cert.pub` line. */
  sshCert: string;
  /** PEM X.509 client certificate. */
  tlsCert: string;
  logins: string[];
  ttlMs: number;
  expires: string;
}

/** Inputs of a user certificate pair. The public keys are the client's; its private keys never reach here. */
export interface UserCertRequest {
  userCa: LoadedCa;
  tlsCa: LoadedCa;
  cluster: string;
  username: string;
  roles: Role[];
  traits: Traits;
  /** OpenSSH public key line (ed25519 or ecdsa P-256). */
  sshPublicKey: string;
  /** SPKI PEM (ECDSA P-256). */
  tlsPublicKey: string;
  /** Requested TTL; capped by the roles' max_session_ttl. */
  ttlMs?: number;
  now: number;
  /** For a bot: carried in the X.509 identity extension (renewals check the generation). */
  bot?: BotCertInfo;
}

function sshKeyBlob(line: string): Buffer {
  const key = parseAuthorizedKey(line);
  if (key.type !== 'ssh-ed25519' && key.type !== 'ecdsa-sha2-nistp256') {
    throw new BadParameter(`SSH public key type ${key.type} is not accepted (use ed25519 or ecdsa P-256)`);
  }
  return key.blob;
}

/** Signs an SSH user certificate and an X.509 client certificate for the same identity and lifetime. */
export async function issueUserCerts(req: UserCertRequest): Promise<UserCerts> {
  const cap = maxSessionTtl(req.roles);
  const ttlMs = Math.min(req.ttlMs ?? cap, cap);
  if (ttlMs <= 0) throw new BadParameter('certificate TTL must be positive');
  const logins = allowedLogins(req.roles, req.traits);
  const perms = sshPermissions(req.roles);
  const roleNames = req.roles.map((r) => r.metadata.name);
  const extensions: Record<string, string> = {
    'tp-roles@tp': JSON.stringify(roleNames),
    'tp-traits@tp': JSON.stringify(req.traits),
    'tp-cluster@tp': req.cluster,
  };
  if (req.bot) extensions['tp-bot-instance@tp'] = req.bot.instance;
  if (perms.pty) extensions['permit-pty'] = '';
  if (perms.portForwarding) extensions['permit-port-forwarding'] = '';
  if (perms.agentForwarding) extensions['permit-agent-forwarding'] = '';
  const blob = signCert(
    {
      publicKey: sshKeyBlob(req.sshPublicKey),
      certType: 'user',
      keyId: req.username,
      principals: logins,
      validAfter: BigInt(Math.floor((req.now - CLOCK_SKEW_MS) / 1000)),
      validBefore: BigInt(Math.floor((req.now + ttlMs) / 1000)),
      extensions,
    },
    req.userCa.sshSigner!,
  );
  const tlsCert = await issueTlsCert({
    ca: req.tlsCa.tls!,
    publicKey: req.tlsPublicKey,
    subject: {
      commonName: req.username,
      organization: roleNames,
      identity: req.bot
        ? { kind: 'user', logins, traits: req.traits, bot: req.bot }
        : { kind: 'user', logins, traits: req.traits },
    },
    now: req.now,
    ttlMs,
    usage: 'client',
  });
  return {
    sshCert: formatCert(blob, req.username),
    tlsCert,
    logins,
    ttlMs,
    expires: new Date(req.now + ttlMs).toISOString(),
  };
}

/** Inputs of a host certificate pair for a node, proxy or auth server. */
export interface HostCertRequest {
  hostCa: LoadedCa;
  tlsCa: LoadedCa;
  cluster: string;
  role: 'node' | 'proxy' | 'auth' | 'admin';
  /** Host ID (UUID), from the caller's id source. */
  hostId: string;
  hostName: string;
  /** Extra SSH principals: names and addresses the host is reached by (never asked for by a joining node). */
  principals?: string[];
  /**
   * Names and addresses the X.509 certificate serves TLS for (its SANs); none when absent. Nodes from a join get
   * none: the proxy dials them by host ID, and a node certificate must never pass for a proxy's.
   */
  serverNames?: string[];
  sshPublicKey?: string;
  tlsPublicKey: string;
  ttlMs: number;
  now: number;
}

/**
 * The TLS names every proxy certificate serves besides its own addresses, whatever path issues it (join, local,
 * renewal, rotation): `*.kube.<cluster>`, the server name kubectl sends for a kube cluster (`<name>.kube.<cluster>`),
 * and `*.<name>` for each DNS name of its own (not addresses), the default hosts of web apps (`<app>.<proxy host>`).
 */
export function proxyServiceNames(cluster: string, serverNames: string[] = []): string[] {
  const apps = serverNames
    .filter((n) => /[a-z]/i.test(n) && !n.includes(':') && !n.startsWith('*.'))
    .map((n) => `*.${n}`);
  return [`*.kube.${cluster}`, ...apps];
}

/**
 * Host certificates: SSH (principals: ID, name, extra principals; nodes also `<ID|name>.<cluster>`) when an SSH key
 * is given, and X.509 naming the host ID (CN), its role (`O=system:<role>`, the identity extension's kind; a node's
 * name too) and only `serverNames` as SANs (a proxy's also `proxyServiceNames`).
 */
export async function issueHostCerts(
  req: HostCertRequest,
): Promise<{ hostId: string; sshCert?: string; tlsCert: string }> {
  const hostId = req.hostId;
  const base = [hostId, req.hostName, ...(req.principals ?? [])];
  // Nodes are also reached as <name>.<cluster> (the Host pattern `tp config` writes for OpenSSH).
  const qualified = req.role === 'node' ? [hostId, req.hostName].map((n) => `${n}.${req.cluster}`) : [];
  const names = [...new Set([...base, ...qualified])];
  const sshCert = req.sshPublicKey
    ? formatCert(
        signCert(
          {
            publicKey: sshKeyBlob(req.sshPublicKey),
            certType: 'host',
            keyId: hostId,
            principals: names,
            validAfter: BigInt(Math.floor((req.now - CLOCK_SKEW_MS) / 1000)),
            validBefore: BigInt(Math.floor((req.now + req.ttlMs) / 1000)),
            extensions: { 'tp-role@tp': req.role, 'tp-cluster@tp': req.cluster },
          },
          req.hostCa.sshSigner!,
        ),
        req.hostName,
      )
    : undefined;
  const sans = [
    ...(req.serverNames ?? []),
    ...(req.role === 'proxy' ? proxyServiceNames(req.cluster, req.serverNames) : []),
  ];
  const ips = sans.filter((n) => /^[\d.]+$|:/.test(n));
  const tlsCert = await issueTlsCert({
    ca: req.tlsCa.tls!,
    publicKey: req.tlsPublicKey,
    subject: {
      commonName: req.role === 'admin' ? 'admin' : hostId,
      organization: [`system:${req.role}`],
      identity: req.role === 'node' ? { kind: req.role, name: req.hostName } : { kind: req.role },
    },
    now: req.now,
    ttlMs: req.ttlMs,
    dnsNames: sans.filter((n) => !ips.includes(n)),
    ips,
    usage: 'both',
  });
  return sshCert ? { hostId, sshCert, tlsCert } : { hostId, tlsCert };
}
