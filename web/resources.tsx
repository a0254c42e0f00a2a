import { navigate } from './router.ts';

/**
 * Shared parts of every resource view (servers now; databases, Kubernetes clusters, apps and desktops as the
 * plugins land): filters that live in the address (so back, forward, reload and shared links keep them) and
 * label chips that filter on click.
 */

/** The filters of a resource view, as the address carries them. */
export interface ResourceFilters {
  q: string;
  label: string;
  offset: number;
  /** A column key, `-` first for descending; empty for the proxy's default (by name). */
  sort: string;
}

/** Reads the filters from an address (`?q=...&label=env%3Dprod&offset=50`). */
export function filtersOf(url: URL): ResourceFilters {
  const p = url.searchParams;
  return {
    q: p.get('q') ?? '',
    label: p.get('label') ?? '',
    offset: Math.max(0, Number(p.get('offset') ?? 0) || 0),
    sort: p.get('sort') ?? '',
  };
}

/**
 * Goes to the same view with other filters. Typing replaces the history entry (one entry per search, not per key);
 * a click on a chip or a pager button adds one, so Back returns to the list before it.
 */
export function setFilters(path: string, f: ResourceFilters, push: boolean): void {
  const p = new URLSearchParams();
  if (f.q) p.set('q', f.q);
  if (f.label) p.set('label', f.label);
  if (f.offset) p.set('offset', String(f.offset));
  if (f.sort) p.set('sort', f.sort);
  const qs = p.toString();
  navigate(`${path}${qs ? `?${qs}` : ''}`, !push);
}

/** The label filter with `key=value` added (once). */
export function withLabel(filter: string, key: string, value: string): string {
  const parts = filter
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const chip = `${key}=${value}`;
  const same = (p: string) => p.replace(/\s*[=:]\s*/, '=') === chip;
  return parts.some(same) ? parts.join(', ') : [...parts, chip].join(', ');
}

/** A resource's labels as buttons: a click narrows the list to resources with that label. */
export function LabelChips({ labels, onPick }: { labels: Record<string, string>; onPick: (k: string, v: string) => void }) {
  return (
    <>
      {Object.entries(labels).map(([k, v]) => (
        <button
          type="button"
          class="label"
          key={k}
          title={`Show only resources with ${k}=${v}`}
          onClick={() => onPick(k, v)}
        >
          {k}={v}
        </button>
      ))}
    </>
  );
}
