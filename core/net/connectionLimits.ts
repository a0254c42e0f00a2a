/** Timeouts and limits that keep stalled or unauthenticated peers from holding a server's connections. */
export interface ConnectionLimits {
  /** A TLS handshake, SSH authentication on the jump port, or the relay's request header must finish within (ms). */
  handshakeMs: number;
  /** An HTTP request's headers, and then its body, must arrive within (ms). */
  requestMs: number;
  /** An HTTP keep-alive connection may sit between requests for (ms). */
  idleMs: number;
  /** Connections one source address may hold at once before they have authenticated. */
  unauthenticatedPerIp: number;
}

/** Generous defaults: a person or a NAT'd office never meets them; a slowloris does. */
export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  handshakeMs: 10_000,
  requestMs: 10_000,
  idleMs: 30_000,
  unauthenticatedPerIp: 256,
};

/** Counts connections per source address and admits one only while its address holds fewer than `max`. */
export class PerAddressLimit {
  private readonly counts = new Map<string, number>();
  /** Connections refused since start (a metric). */
  refused = 0;

  constructor(readonly max: number) {}

  /** Counts a connection from `addr` and returns its release (safe to call more than once), or undefined at the limit. */
  admit(addr: string): (() => void) | undefined {
    const n = this.counts.get(addr) ?? 0;
    if (n >= this.max) {
      this.refused++;
      return undefined;
    }
    this.counts.set(addr, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.counts.get(addr) ?? 1) - 1;
      if (left > 0) this.counts.set(addr, left);
      else this.counts.delete(addr);
    };
  }

  /** Connections `addr` holds now. */
  held(addr: string): number {
    return this.counts.get(addr) ?? 0;
  }
}
