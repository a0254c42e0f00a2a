/**
 * Samples this process's live heap (after a collection, so garbage does not count) while something runs: RSS is
 * the wrong measure when many test files share one process, since it keeps whatever the collector has not yet
 * returned. `stop()` gives the peak growth over the start, in bytes. Sampled every 250 ms by default: a full
 * collection in a big shared heap is slow, and buffering a large transfer would show up in any sample.
 */
export function sampleLiveMemory(everyMs = 250): { stop(): number } {
  const live = () => {
    Bun.gc(true);
    return process.memoryUsage().heapUsed;
  };
  const base = live();
  let peak = base;
  const timer = setInterval(() => {
    peak = Math.max(peak, live());
  }, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      return Math.max(peak, live()) - base;
    },
  };
}
