import { X509Certificate } from 'node:crypto';
import type { ClusterCasAnswer } from '../api/hostSchemas.ts';
import { type Clock, systemClock } from '../clock.ts';
import { parseAuthorizedKey } from '../crypto/keys.ts';
import { parseCert } from '../crypto/sshcert.ts';
import { describe } from '../errors.ts';
import { log } from '../log.ts';
import type { HostIdentity } from './hostIdentity.ts';
import { type RotationPhase, SERVERS_RENEW } from './rotationPhase.ts';

/** The cluster's CAs and rotation phase, as a server sees them (the wire shape agents parse). */
export type ClusterCas = ClusterCasAnswer;

/** How a follower talks to the cluster (agents through the proxy, proxies to auth directly). */
export interface FollowerIo {
  fetch(): Promise<ClusterCas>;
  reissue(req: { sshCert?: string; tlsPublicKey: string }): Promise<{ sshCert?: string; tlsCert: string }>;
  report(r: { rotationId: string; phase: RotationPhase; name: string }): Promise<void>;
}

const same = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** True when the identity's certificates were signed by the first (signing) CA of each list. */
export function signedByActive(id: HostIdentity, hostCa: string[], tlsCa: string[]): boolean {
  const sshOk = !id.sshCert || parseCert(id.sshCert).signatureKey.equals(parseAuthorizedKey(hostCa[0]!).blob);
  const tlsOk = new X509Certificate(id.tlsCert).verify(new X509Certificate(tlsCa[0]!).publicKey);
  return sshOk && tlsOk;
}

/**
 * Keeps a server's identity in step with CA rotation: trusts exactly the CAs the cluster trusts, renews its host
 * certificates from the signing CA once servers must (update_servers, rollback, standby), and reports each phase it
 * has taken on so automatic rotation knows when to advance.
 */
export class IdentityFollower {
  private reported = '';
  private reportedAt = 0;
  private running: Promise<void> | undefined;

  constructor(
    private identity: HostIdentity,
    private readonly io: FollowerIo,
    private readonly name: string,
    /** Called with the new identity after it changed (save it, reload TLS contexts and host keys). */
    private readonly apply: (id: HostIdentity) => void | Promise<void>,
    /** Report again after this long even without change (proxies: their report doubles as a liveness mark). */
    private readonly reportEveryMs = Number.POSITIVE_INFINITY,
    /** Times the repeated reports. */
    private readonly clock: Clock = systemClock,
  ) {}

  get current(): HostIdentity {
    return this.identity;
  }

  /** Takes on the cluster's current state once; concurrent calls share one run. Errors are logged, not thrown. */
  step(): Promise<void> {
    this.running ??= this.settle(this.io.fetch().then((cas) => this.follow(cas)));
    return this.running;
  }

  /** Like step, with the state already in hand (agents get it with their cluster state). */
  async observe(cas: ClusterCas): Promise<void> {
    await this.running;
    this.running = this.settle(this.follow(cas));
    return this.running;
  }

  /** Logs a failed run instead of throwing, and frees the slot for the next one. */
  private settle(run: Promise<void>): Promise<void> {
    return run
      .catch((err: unknown) => log.warn('could not follow the CA rotation', { error: describe(err) }))
      .finally(() => {
        this.running = undefined;
      });
  }

  private async follow(cas: ClusterCas): Promise<void> {
    let id = this.identity;
    if (!same(id.userCa, cas.userCa) || !same(id.hostCa, cas.hostCa) || !same(id.tlsCa, cas.tlsCa))
      id = { ...id, userCa: cas.userCa, hostCa: cas.hostCa, tlsCa: cas.tlsCa };
    if (cas.rotation.id && SERVERS_RENEW.has(cas.rotation.phase) && !signedByActive(id, cas.hostCa, cas.tlsCa)) {
      const tlsPublicKey = new X509Certificate(id.tlsCert).publicKey.export({ type: 'spki', format: 'pem' }) as string;
      const renewed = await this.io.reissue({ sshCert: id.sshCert || undefined, tlsPublicKey });
      id = { ...id, tlsCert: renewed.tlsCert, sshCert: renewed.sshCert ?? id.sshCert };
      log.info('renewed host certificates for the CA rotation', { phase: cas.rotation.phase });
    }
    if (id !== this.identity) {
      this.identity = id;
      await this.apply(id);
    }
    const mark = `${cas.rotation.id}/${cas.rotation.phase}`;
    if (mark !== this.reported || this.clock.now() - this.reportedAt > this.reportEveryMs) {
      await this.io.report({ rotationId: cas.rotation.id, phase: cas.rotation.phase, name: this.name });
      this.reported = mark;
      this.reportedAt = this.clock.now();
    }
  }
}
