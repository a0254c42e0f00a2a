// Gives the kernel back the pages of code and read-only data an idle process touched once and no longer uses: the
// Bun runtime's executable (and the libraries it maps) are file-backed, so start-up leaves ~20-40 MiB of them
// resident on a device though the idle agent runs a small part of them. madvise(MADV_PAGEOUT) drops them from this
// process (and from the page cache when no other process maps them); a page used again faults back in from the file.
// Only read-only mappings of regular files are advised: never anonymous memory (heap, JIT code, stacks), never a
// writable mapping, never shared memory (memfd, /dev/shm), so nothing is written out and devices need no swap.
import { describe, TpError } from '../errors.ts';

/** Linux's MADV_PAGEOUT (5.4+, the same number on every architecture). */
const MADV_PAGEOUT = 21;

/** One mapping to advise: its start address and length in bytes. */
export interface CodeRange {
  start: bigint;
  length: bigint;
  path: string;
}

/** What one pass advised. */
export interface PageOutResult {
  ranges: number;
  bytes: number;
}

/** madvise(2) as this module calls it: 0 on success. */
export type Madvise = (start: bigint, length: bigint, advice: number) => number;

const MAP_LINE = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) \S+ \S+ \d+\s+(\/.*)$/;

/** The read-only mappings of regular files in a /proc/PID/maps text (shared memory and devices left out). */
export function readOnlyFileRanges(maps: string): CodeRange[] {
  const out: CodeRange[] = [];
  for (const line of maps.split('\n')) {
    const m = MAP_LINE.exec(line);
    if (!m || m[3]!.includes('w')) continue;
    const path = m[4]!;
    if (path.startsWith('/dev/') || path.startsWith('/memfd:') || path.startsWith('/SYSV')) continue;
    const start = BigInt(`0x${m[1]}`);
    out.push({ start, length: BigInt(`0x${m[2]}`) - start, path });
  }
  return out;
}

/** The C library this process already maps (glibc's libc.so.6 or musl's loader), for dlopen; undefined if none. */
export function mappedLibc(maps: string): string | undefined {
  for (const r of readOnlyFileRanges(maps)) {
    const base = r.path.slice(r.path.lastIndexOf('/') + 1);
    if (/^(libc\.so(\.6)?|libc\.musl-[\w-]+\.so\.1|ld-musl-[\w-]+\.so\.1)$/.test(base)) return r.path;
  }
  return undefined;
}

/** madvise from the C library through bun:ffi; throws a TpError when FFI or the library is unavailable. */
export async function loadMadvise(maps: string): Promise<Madvise> {
  let ffi: typeof import('bun:ffi');
  try {
    ffi = await import('bun:ffi');
  } catch (err) {
    throw new TpError('bun:ffi is not available in this runtime', { error: describe(err) });
  }
  const lib = mappedLibc(maps) ?? 'libc.so.6';
  try {
    const { symbols } = ffi.dlopen(lib, {
      madvise: { args: [ffi.FFIType.u64, ffi.FFIType.u64, ffi.FFIType.i32], returns: ffi.FFIType.i32 },
    });
    return (start, length, advice) => symbols.madvise(start, length, advice);
  } catch (err) {
    throw new TpError(`cannot load madvise from ${lib}`, { error: describe(err) });
  }
}

/**
 * Advises MADV_PAGEOUT over every read-only file mapping in `maps`; returns what it advised. Throws a TpError when
 * the kernel refuses every range (an old kernel without MADV_PAGEOUT answers EINVAL), so the caller can stop trying.
 */
export function pageOutCodePages(maps: string, madvise: Madvise): PageOutResult {
  let ranges = 0;
  let bytes = 0;
  const all = readOnlyFileRanges(maps);
  for (const r of all) {
    if (madvise(r.start, r.length, MADV_PAGEOUT) !== 0) continue;
    ranges++;
    bytes += Number(r.length);
  }
  if (all.length > 0 && ranges === 0) throw new TpError('the kernel refused MADV_PAGEOUT on every code mapping');
  return { ranges, bytes };
}
