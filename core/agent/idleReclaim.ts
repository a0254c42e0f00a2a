import { readFileSync } from 'node:fs';
import { describe } from '../errors.ts';
import { log } from '../log.ts';
import { loadMadvise, type Madvise, type PageOutResult, pageOutCodePages } from './codePages.ts';

/** How long the agent must stay quiet (no stream open) after start-up or a session before its code pages go back. */
export const RECLAIM_SETTLE_MS = 3_000;

/** This process's resident file-backed memory (RssFile), in KiB. */
function residentFileKiB(): number {
  return Number(/RssFile:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0);
}

/** What the reclaimer needs from the agent around it. */
export interface IdleReclaimOptions {
  /** True while a stream is open: a pass waits for the next quiet spell. */
  busy(): boolean;
  settleMs?: number;
  /** This process's memory map (default /proc/self/maps). */
  maps?: () => string;
  /** madvise (default the C library's, through bun:ffi). */
  madvise?: (maps: string) => Promise<Madvise>;
}

/**
 * Gives the runtime's start-up and session code pages back to the kernel once the agent has been quiet for a while
 * (codePages.ts). `settle()` (re)starts the wait; a pass runs only when no stream is open. If FFI or the kernel
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

  /** (Re)starts the quiet-spell wait; when it ends with no stream open, one pass runs. */
  settle(): void {
    if (this.failed || this.closed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.run(), this.o.settleMs ?? RECLAIM_SETTLE_MS);
    this.timer.unref();
  }

  private async run(): Promise<void> {
    this.timer = undefined;
    if (this.o.busy() || this.closed) return;
    const maps = this.o.maps ?? (() => readFileSync('/proc/self/maps', 'utf8'));
    try {
      const text = maps();
      this.madvise ??= (this.o.madvise ?? loadMadvise)(text);
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
    }
  }

  /** Stops any pending pass. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }
}
