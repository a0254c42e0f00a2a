// CPU time the tp processes of a benchmark spend, read from /proc: what tp itself costs per query or per MB, a figure
// that does not move with the neighbours' load the way throughput on a shared machine does.
import { readFileSync } from 'node:fs';

/** User + system CPU milliseconds process `pid` has used so far (Linux /proc; clock ticks at 100 Hz). */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Runs `fn` and returns its result with the CPU milliseconds the processes `pids` spent meanwhile. */
export async function withCpu<T>(pids: number[], fn: () => Promise<T>): Promise<{ value: T; cpuMs: number }> {
  const before = pids.map(cpuMs);
  const value = await fn();
  return { value, cpuMs: pids.reduce((sum, pid, i) => sum + cpuMs(pid) - before[i]!, 0) };
}
