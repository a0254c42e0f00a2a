import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { NodeRecord } from '../auth/nodes.ts';
import { type Clock, systemClock } from '../clock.ts';
import { log } from '../log.ts';
import { MuxSession } from '../tunnel/mux.ts';
import { encodeFrame, GOAWAY_BUSY, T_GOAWAY } from '../tunnel/muxFrame.ts';
import type { TunnelAdmission } from './tunnelAdmission.ts';

/** The reverse tunnels agents hold to this proxy, by host ID. */
export class TunnelRegistry {
  private readonly sessions = new Map<string, MuxSession>();
  private readonly since = new Map<string, number>();

  /**
   * `clock` stamps when each tunnel was accepted and times the tunnels' keepalives; `admission`, when given, bounds
   * how fast tunnels are taken on (a reconnect storm after a restart).
   */
  constructor(
    private readonly clock: Clock = systemClock,
    private readonly admission?: TunnelAdmission,
  ) {}

  /**
   * Takes over an authenticated agent connection (ALPN tp-tunnel); a reconnecting agent replaces its old tunnel. A
   * tunnel beyond the admission rate is answered with a busy go-away naming when to come back, and closed.
   */
  accept(hostId: string, socket: TLSSocket, keepaliveMs: number): void {
    const admitted = this.admission?.admit() ?? { ok: true };
    if (!admitted.ok) {
      log.debug('agent tunnel deferred: proxy busy', { hostId, retryAfterMs: admitted.retryAfterMs });
      socket.end(encodeFrame(T_GOAWAY, 0, admitted.retryAfterMs, GOAWAY_BUSY));
      return;
    }
    const session = new MuxSession(socket, { side: 'server', keepaliveMs, clock: this.clock });
    session.onStream((s) => s.destroy()); // agents never open streams towards the proxy
    const old = this.sessions.get(hostId);
    this.sessions.set(hostId, session);
    this.since.set(hostId, this.clock.now());
    old?.close('replaced by a new tunnel from the same agent');
    session.onClose((reason) => {
      if (this.sessions.get(hostId) === session) this.sessions.delete(hostId);
      log.info('agent tunnel closed', { hostId, reason });
    });
    log.info('agent tunnel up', { hostId, remote: socket.remoteAddress });
  }

  /** Opens a stream to the agent, or undefined when it holds no tunnel here. */
  open(hostId: string): Duplex | undefined {
    const s = this.sessions.get(hostId);
    return s && !s.isClosed ? s.open() : undefined;
  }

  /** When the agent's current tunnel was accepted (epoch ms), if it holds one. */
  acceptedAt(hostId: string): number | undefined {
    return this.sessions.has(hostId) ? this.since.get(hostId) : undefined;
  }

  has(hostId: string): boolean {
    return this.sessions.has(hostId);
  }

  get size(): number {
    return this.sessions.size;
  }

  /** Drops every tunnel (proxy shutdown). */
  closeAll(): void {
    for (const s of this.sessions.values()) s.close('proxy shutting down');
    this.sessions.clear();
  }
}

/** Whether the proxy can reach a node now: agentless and direct nodes by address, others through their tunnel. */
export function nodeOnline(n: NodeRecord, tunnels: TunnelRegistry): boolean {
  return !!n.agentless || !!n.addr || tunnels.has(n.hostId);
}
