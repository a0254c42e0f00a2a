import { X509Certificate } from 'node:crypto';
import type { Clock } from '../clock.ts';
import type { HostIdentity } from '../identity/hostIdentity.ts';
import { log } from '../log.ts';

/** Why an agent is offline or degraded, as it reports in its next heartbeat and `tp ls --all` shows. */
export type LinkReason = 'dns' | 'connect' | 'tls' | 'clock_skew' | 'identity_rejected' | 'cert_expired';

/** What a heartbeat says about the agent's link to the cluster. */
export interface LinkReport {
  state: 'online' | 'degraded';
  /** For a degraded link: why (today: the device clock is off). */
  reason?: LinkReason;
  /** The device clock minus the cluster's (ms), when it is off by more than a minute. */
  skewMs?: number;
  /** The last time the agent could not reach the cluster, and why. */
  lastOutage?: { reason: LinkReason; from: string; to: string };
}

/** A clock more than this far from the cluster's is reported (certificates are checked against it). */
export const MAX_SKEW_MS = 60_000;

const EXPLAIN: Record<LinkReason, string> = {
  dns: 'the proxy name does not resolve (DNS)',
  connect: 'the proxy cannot be reached, or the connection to it was cut (no route, refused, timed out or closed)',
  tls: 'the TLS handshake with the proxy failed',
  clock_skew: "this device's clock is off: certificates look not yet valid or expired by it; fix the time (NTP)",
  identity_rejected: "the proxy refused this agent's identity (a foreign or revoked certificate: join again)",
  cert_expired: "this agent's certificate has expired: join again with a new token",
};

/** The words that say what a link reason means, for logs and `tp ls --all`. */
export function explainReason(r: LinkReason): string {
  return EXPLAIN[r];
}

/** When the host's TLS certificate stops being valid (epoch ms). */
export function certNotAfter(id: Pick<HostIdentity, 'tlsCert'>): number {
  return Date.parse(new X509Certificate(id.tlsCert).validTo);
}

/** The chain of messages and codes of an error and its causes, for classifying it. */
function chain(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, i = 0; e && i < 5; e = (e as { cause?: unknown }).cause, i++) {
    const x = e as { message?: string; code?: string; name?: string };
    parts.push(String(x.name ?? ''), String(x.code ?? ''), String(x.message ?? e));
  }
  return parts.join(' ');
}

/**
 * Classifies why a connection to the proxy failed. A certificate "not yet valid" or "expired" by this device's
 * clock, while its own certificate is current, means the clock is off rather than a bad certificate.
 */
export function linkReason(err: unknown, o: { now: number; certNotAfter: number }): LinkReason {
  if (o.now > o.certNotAfter) return 'cert_expired';
  const text = chain(err);
  if (/ENOTFOUND|EAI_AGAIN|EAI_NONAME|EAI_FAIL|getaddrinfo|DNS/i.test(text)) return 'dns';
  if (/CERT_NOT_YET_VALID|CERT_HAS_EXPIRED|not yet valid|has expired|certificate expired/i.test(text))
    return 'clock_skew';
  if (/Unauthenticated|AccessDenied|\b401\b|\b403\b|not a node certificate|identity/i.test(text))
    return 'identity_rejected';
  if (/WrongServer|certificate|TLS|SSL|handshake|self.signed|unable to verify/i.test(text)) return 'tls';
  return 'connect';
}

/** The agent's view of its link: the outage in progress, the last one, and the clock's offset from the cluster's. */
export class LinkHealth {
  private outage: { reason: LinkReason; from: number } | undefined;
  private last: LinkReport['lastOutage'];
  private skewMs = 0;

  constructor(private readonly clock: Clock) {}

  /** Notes a failed attempt; the first one of an outage, and each change of reason, is logged with its meaning. */
  down(reason: LinkReason): void {
    if (this.outage?.reason !== reason) log.warn(`agent offline: ${reason}: ${explainReason(reason)}`, { reason });
    this.outage = { reason, from: this.outage?.from ?? this.clock.now() };
  }

  /** Notes the link is up: an outage in progress becomes the last outage. */
  up(): void {
    if (!this.outage) return;
    const iso = (ms: number) => new Date(ms).toISOString();
    this.last = { reason: this.outage.reason, from: iso(this.outage.from), to: iso(this.clock.now()) };
    log.info('agent back online', { after: this.outage.reason, offlineMs: this.clock.now() - this.outage.from });
    this.outage = undefined;
  }

  /** Takes the cluster's time from a heartbeat answer; an offset beyond a minute degrades the link (logged once). */
  clusterTime(serverMs: number, sentAt: number, receivedAt: number): void {
    const skew = Math.round((sentAt + receivedAt) / 2 - serverMs);
    const was = Math.abs(this.skewMs) > MAX_SKEW_MS;
    this.skewMs = skew;
    if (!was && Math.abs(skew) > MAX_SKEW_MS)
      log.warn(`agent degraded: clock_skew: this device's clock is ${Math.round(skew / 1000)} s off the cluster's`, {
        reason: 'clock_skew',
        skewMs: skew,
      });
  }

  /** What the next heartbeat reports. */
  report(): LinkReport {
    const skewed = Math.abs(this.skewMs) > MAX_SKEW_MS;
    return {
      state: skewed ? 'degraded' : 'online',
      ...(skewed ? { reason: 'clock_skew' as const, skewMs: this.skewMs } : {}),
      ...(this.last ? { lastOutage: this.last } : {}),
    };
  }
}
