import { readFileSync } from 'node:fs';
import { describe } from '../errors.ts';
import { log } from '../log.ts';
import { loadMadvise, type Madvise, type PageOutResult, pageOutCodePages } from './codePages.ts';

/** How long the agent must stay quiet (no stream open) after start-up or a session before its code pages go back. */
export const RECLAIM_SETTLE_MS = 3_000;
/**
 * How often an idle agent gives back again what its timers (heartbeat, state, keepalive) faulted in since the last
 * pass: without it the resident code pages climbed from ~13 to ~26 MiB over ten idle minutes, each fault mapping its
 * neighbours in too (the kernel's fault-around). A pass costs one read of /proc/self/maps and a madvise per mapping.
 */
export const RECLAIM_REPEAT_MS = 60_000;

/** This process's resident file-backed memory (RssFile), in KiB. */
function residentFileKiB(): number {
  return Number(/RssFile:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0);
}

/** What the reclaimer needs from the agent around it. */
export interface IdleReclaimOptions {
  /** True while a stream is open: a pass waits for the next quiet spell. */
  busy(): boolean;
  settleMs?: number;
  /** Interval of the passes that follow while the agent stays idle (default RECLAIM_REPEAT_MS). */
  repeatMs?: number;
  /** This process's memory map (default /proc/self/maps). */
  maps?: () => string;
  /** madvise (default the C library's, through bun:ffi). */
  madvise?: (maps: string) => Promise<Madvise>;
}

/**
 * Gives the runtime's start-up and session code pages back to the kernel once the agent has been quiet for a while
 * (codePages.ts), and again every `repeatMs` while it stays idle. `settle()` (re)starts the wait; a pass runs only
 * when no stream is open (the stream's close settles again). If FFI or the kernel
 * refuses, it says so once at debug level and stops trying: the agent runs on, only with more resident memory.
 */
export class IdleReclaim {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private madvise: Promise<Madvise> | undefined;
  private failed = false;
  private closed = false;
  /** Passes done and what the last one advised (for tests and the bench). */
  passes = 0;
  last: PageOutResult | undefined;

  constructor(private readonly o: IdleReclaimOptions) {}

  /** (Re)starts the quiet-spell wait; when it ends with no stream open, a pass runs, then one every `repeatMs`. */
  settle(): void {
    this.arm(this.o.settleMs ?? RECLAIM_SETTLE_MS);
  }

  private arm(ms: number): void {
    if (this.failed || this.closed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.run(), ms);
    this.timer.unref();
  }

  private async run(): Promise<void> {
    this.timer = undefined;
    if (this.o.busy() || this.closed) return;
    const maps = this.o.maps ?? (() => readFileSync('/proc/self/maps', 'utf8'));
    try {
      this.madvise ??= (this.o.madvise ?? loadMadvise)(maps());
      const madvise = await this.madvise;
      const before = residentFileKiB();
      this.last = pageOutCodePages(maps(), madvise);
      this.passes++;
      log.debug('gave idle code pages back to the kernel', {
        ranges: this.last.ranges,
        residentKiB: { before, after: residentFileKiB() },
      });
    } catch (err) {
      this.failed = true;
      log.debug('cannot give idle code pages back to the kernel; going on without', { error: describe(err) });
      return;
    }
    if (!this.timer) this.arm(this.o.repeatMs ?? RECLAIM_REPEAT_MS);
  }

  /** Stops any pending pass. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }
}
