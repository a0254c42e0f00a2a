import RFB, { type RfbChannel } from '@novnc/novnc';

/** One recorded chunk of a desktop session: ms since its start, and the bytes the browser got (base64). */
export type DesktopChunk = readonly [ms: number, stream: string, data: string];

/** Idle gaps longer than this play as this long, as in the terminal player. */
export const MAX_GAP_MS = 2000;

/** The playback time of each chunk: real times with long idle gaps shortened. */
export function playbackTimes(events: readonly DesktopChunk[]): number[] {
  const times: number[] = [];
  let last = 0;
  let t = 0;
  for (const [ms] of events) {
    t += Math.min(Math.max(ms - last, 0), MAX_GAP_MS);
    last = ms;
    times.push(t);
  }
  return times;
}

const bytesOf = (b64: string): ArrayBuffer => {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out.buffer;
};

/**
 * What noVNC reads from during a replay instead of a WebSocket: it is open from the start, delivers the recorded
 * server → browser bytes when told to, and drops everything noVNC sends (its handshake answers, update requests).
 */
class ReplayChannel implements RfbChannel {
  binaryType = 'arraybuffer';
  protocol = '';
  readyState = 'open';
  onopen: ((e: Event) => void) | null = null;
  onclose: ((e: CloseEvent) => void) | null = null;
  onerror: ((e: Event) => void) | null = null;
  onmessage: ((e: MessageEvent) => void) | null = null;

  send(): void {
    // A recording answers nobody: noVNC's messages go nowhere.
  }

  close(): void {
    if (this.readyState === 'closed') return;
    this.readyState = 'closed';
    queueMicrotask(() => this.onclose?.(new CloseEvent('close', { code: 1000, wasClean: true })));
  }

  deliver(data: ArrayBuffer): void {
    if (this.readyState === 'open') this.onmessage?.(new MessageEvent('message', { data }));
  }
}

/**
 * A desktop recording played into noVNC: `seek(to)` feeds every chunk up to playback time `to` (going back
 * starts a fresh noVNC from the recording's first byte and fast-forwards). The screen is what noVNC drew from the
 * same bytes the browser got live.
 */
export class DesktopReplay {
  private rfb: RFB | undefined;
  private channel: ReplayChannel | undefined;
  private next = 0;
  private at = 0;
  readonly times: number[];

  constructor(
    private readonly screen: HTMLElement,
    private readonly events: readonly DesktopChunk[],
  ) {
    this.times = playbackTimes(events);
    this.restart();
  }

  /** The playback length (ms). */
  get total(): number {
    return this.times.at(-1) ?? 0;
  }

  /** The playback time shown now (ms). */
  get position(): number {
    return this.at;
  }

  /** Shows the desktop as it was at playback time `to`. */
  seek(to: number): void {
    if (to < this.at) this.restart();
    while (this.next < this.events.length && this.times[this.next]! <= to) {
      const [, stream, data] = this.events[this.next]!;
      if (stream === 'r') this.channel!.deliver(bytesOf(data));
      this.next++;
    }
    this.at = to;
  }

  /** Stops the replay and removes its screen. */
  dispose(): void {
    this.rfb?.disconnect();
    this.screen.replaceChildren();
  }

  private restart(): void {
    this.dispose();
    this.channel = new ReplayChannel();
    this.rfb = new RFB(this.screen, this.channel, { shared: true });
    this.rfb.viewOnly = true;
    this.rfb.scaleViewport = true;
    this.rfb.background = 'transparent';
    this.next = 0;
    this.at = 0;
  }
}
