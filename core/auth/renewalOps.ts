import type { Clock } from '../clock.ts';
import { formatAuthorizedKey } from '../crypto/keys.ts';
import { parseCert, verifyCert } from '../crypto/sshcert.ts';
import { AccessDenied } from '../errors.ts';
import type { Emit } from './authorizer.ts';
import type { CaReader } from './caSet.ts';
import type { Identity } from './identity.ts';
import { issueHostCerts } from './issuer.ts';

/** What host certificate renewal reads. */
export interface RenewalOpsDeps {
  emit: Emit;
  clock: Clock;
  cluster: string;
  cas: CaReader;
}

/** Renewal of node and proxy certificates from the signing CAs (how servers follow a rotation). */
export class RenewalOps {
  constructor(private readonly d: RenewalOpsDeps) {}

  private now(): number {
    return this.d.clock.now();
  }

  /**
   * New certificates for a node or proxy from the signing CAs, for the same keys and names as its current SSH host
   * certificate (which must verify against a trusted host CA and belong to the caller).
   */
  async reissue(
    who: Identity,
    req: { sshCert?: string; tlsPublicKey: string },
  ): Promise<{ sshCert?: string; tlsCert: string }> {
    if (who.kind !== 'node' && who.kind !== 'proxy')
      throw new AccessDenied('only nodes and proxies renew host certificates');
    let principals: string[] = [who.name];
    let sshPublicKey: string | undefined;
    if (req.sshCert) {
      const cert = verifyCert(parseCert(req.sshCert), {
        cas: this.d.cas.current('host').sshTrusted,
        certType: 'host',
        now: this.now() / 1000,
      });
      if (cert.keyId !== who.name)
        throw new AccessDenied(`the SSH certificate belongs to ${cert.keyId}, not to ${who.name}`);
      principals = cert.principals;
      sshPublicKey = formatAuthorizedKey(cert.publicKey);
    }
    const out = await issueHostCerts({
      hostCa: this.d.cas.current('host'),
      tlsCa: this.d.cas.current('tls'),
      cluster: this.d.cluster,
      role: who.kind,
      hostId: who.name,
      hostName: who.hostName ?? principals[1] ?? who.name,
      // A node keeps only the names auth gives it (ID, name); a proxy keeps its addresses, also as TLS names.
      principals: who.kind === 'proxy' ? principals : undefined,
      serverNames: who.kind === 'proxy' ? principals : undefined,
      sshPublicKey,
      tlsPublicKey: req.tlsPublicKey,
      ttlMs: 365 * 86_400_000,
      now: this.now(),
    });
    await this.d.emit({ type: 'cert.reissue', user: who.name, host_id: who.name, role: who.kind });
    return { sshCert: out.sshCert, tlsCert: out.tlsCert };
  }
}
