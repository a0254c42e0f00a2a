// The fields every desktop plugin's `desktops.desktops` entry shares, so a desktop's name and address follow one
// rule whatever protocol it speaks.
import * as v from 'valibot';

const NAME = /^[a-z0-9][a-z0-9_.-]{0,62}$/;
const ADDRESS = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9_.-]+):\d{1,5}$/;

/** A desktop's name: lowercase letters, digits, "-", "_" or ".", at most 63, starting with a letter or digit. */
export const desktopName = v.pipe(
  v.string(),
  v.regex(NAME, 'desktop names are lowercase letters, digits, "-", "_" or "."'),
);

/** The server's `host:port`; `example` goes into the error (`10.0.0.5:3389`). */
export function desktopAddr(example: string) {
  return v.pipe(v.string(), v.regex(ADDRESS, `expected host:port, e.g. ${example}`));
}

/** The desktop's labels (none when absent). */
export const desktopLabels = v.optional(v.record(v.string(), v.string()), {});

/** Whether a raw config entry, before validation and whatever its shape, names `protocol` (`vnc`, `rdp`). */
export function entrySpeaks(entry: unknown, protocol: string): boolean {
  return (entry as { protocol?: unknown } | null)?.protocol === protocol;
}
