// How many agent tunnels the proxy takes on at once. After a proxy restart every agent of a fleet dials back within
// its backoff; taking them all in the same second starves the sessions already running. Beyond its rate the proxy
// answers a tunnel with "busy: come back in T" (a mux go-away) and spreads the latecomers over the seconds it
// expects to need, on top of the agents' own jitter.
import { type Clock, systemClock } from '../clock.ts';

/** Tuning for the admission of agent tunnels. */
export interface TunnelAdmissionOptions {
  /** Tunnels accepted per second at most. Default 1000. */
  perSecond?: number;
  /** The event loop's lag (ms) above which the proxy takes a quarter of its rate. Default 250. */
  maxLagMs?: number;
  /** The longest wait a busy answer asks for (ms). Default 30 s. */
  maxRetryMs?: number;
  clock?: Clock;
  /** Uniform randomness in [0, 1) for spreading the waits. Default Math.random. */
  random?: () => number;
}

/** The answer to one tunnel: take it, or ask it to come back in `retryAfterMs`. */
export type Admission = { ok: true } | { ok: false; retryAfterMs: number };

const WINDOW_MS = 1000;
const LAG_SAMPLE_MS = 100;

/** Admits agent tunnels at a bounded rate and tells the rest when to come back. */
export class TunnelAdmission {
  private readonly perSecond: number;
  private readonly maxLagMs: number;
  private readonly maxRetryMs: number;
  private readonly clock: Clock;
  private readonly random: () => number;
  private windowStart = 0;
  private admitted = 0;
  /** When the deferred tunnels are asked to return, so that they arrive at `perSecond` (epoch ms). */
  private bookedUntil = 0;
  private lagMs = 0;
  private readonly lagTimer: ReturnType<typeof setInterval>;
  /** Tunnels asked to come back later since the proxy started (a metric). */
  deferredTotal = 0;

  constructor(o: TunnelAdmissionOptions = {}) {
    this.perSecond = o.perSecond ?? 1000;
    this.maxLagMs = o.maxLagMs ?? 250;
    this.maxRetryMs = o.maxRetryMs ?? 30_000;
    this.clock = o.clock ?? systemClock;
    this.random = o.random ?? Math.random;
    let expected = performance.now() + LAG_SAMPLE_MS;
    // The lag is how late a 100 ms timer fires (a proxy busy with handshakes fires it late), the worst of the last
    // second: one timely tick between two late ones does not make the proxy idle.
    let worstAt = 0;
    this.lagTimer = setInterval(() => {
      const now = performance.now();
      const lag = Math.max(0, now - expected);
      if (lag >= this.lagMs || now - worstAt > WINDOW_MS) {
        this.lagMs = lag;
        worstAt = now;
      }
      expected = now + LAG_SAMPLE_MS;
    }, LAG_SAMPLE_MS);
    this.lagTimer.unref?.();
  }

  /** Decides on one arriving tunnel: admitted while under the rate and not lagging, else a spread-out wait. */
  admit(): Admission {
    const now = this.clock.now();
    if (now - this.windowStart >= WINDOW_MS) {
      this.windowStart = now;
      this.admitted = 0;
    }
    // A lagging proxy takes a quarter of its rate, never none: each tunnel told to come back still cost it a TLS
    // handshake, so refusing them all while lagging would keep it lagging and admit nobody.
    const budget = this.lagMs > this.maxLagMs ? Math.max(1, Math.floor(this.perSecond / 4)) : this.perSecond;
    if (this.admitted < budget) {
      this.admitted++;
      return { ok: true };
    }
    this.deferredTotal++;
    // Book the next free slot at the admitted rate: the n-th deferred tunnel comes back about n/rate seconds on,
    // spread over a slot's width so that one slot's tunnels do not arrive together.
    const slotMs = 1000 / budget;
    this.bookedUntil = Math.max(this.bookedUntil, now + WINDOW_MS) + slotMs;
    const base = this.bookedUntil - now;
    const retryAfterMs = Math.min(this.maxRetryMs, Math.round(base * (0.9 + 0.2 * this.random())));
    return { ok: false, retryAfterMs };
  }

  /** Stops sampling the event loop. */
  close(): void {
    clearInterval(this.lagTimer);
  }
}
