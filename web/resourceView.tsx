import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { GenericSchema } from 'valibot';
import type { Page } from '../core/api/webSchemas.ts';
import { apiOf, readable } from './api.ts';
import { filtersOf, LabelChips, type ResourceFilters, setFilters, withLabel } from './resources.tsx';

/** What every kind of resource row carries: a name, labels, and the logins (users) the roles grant on it. */
export interface ResourceRow {
  name: string;
  labels: Record<string, string>;
  logins: string[];
}

/** One column of a resource view; `sort` names the proxy's sort key when the column sorts. */
export interface Column<T> {
  label: string;
  sort?: string;
  cell: (row: T) => ComponentChildren;
}

/** How a resource view is set up for one kind (servers now; databases, Kubernetes, apps, desktops later). */
export interface ResourceViewProps<T extends ResourceRow> {
  /** The heading and the words for the rows ("Servers", "servers"). */
  title: string;
  noun: string;
  url: URL;
  /** The proxy's paged listing: takes q, label, sort, limit and offset. */
  endpoint: string;
  /** The schema of one page of the listing (core/api/webSchemas.ts): answers are parsed, not cast. */
  pageSchema: GenericSchema<unknown, Page<T>>;
  columns: Column<T>[];
  rowKey: (row: T) => string;
  /** Attributes of a row (tests and styles find rows by them). */
  rowAttrs?: (row: T) => Record<string, string>;
  /** The user's logins in the cluster (the default choice), what the choice is called, why there are none. */
  logins: string[];
  loginLabel: string;
  noLogins?: string;
  /** The Connect button's action (when no `action` replaces the button). */
  connect?: (row: T, login: string) => void;
  /** What the search box says it searches (default: name, address or label). */
  searchHint?: string;
  /** False for kinds whose principal is chosen per row (databases): no choice above the list. Default true. */
  chooser?: boolean;
  /** What the last cell of a row shows instead of the Connect button (a command to copy ...). */
  action?: (row: T) => ComponentChildren;
}

const LIMIT = 50;

/**
 * One list for every kind of resource: search, a label filter (chips filter on click), sorting, paging on the
 * proxy, all kept in the address; per row the logins the roles grant there and the kind's connect action.
 */
export function ResourceView<T extends ResourceRow>(v: ResourceViewProps<T>) {
  const f = filtersOf(v.url);
  const [page, setPage] = useState<Page<T> | undefined>();
  const [error, setError] = useState('');
  const [login, setLogin] = useState(v.logins[0] ?? '');
  const set = (change: Partial<ResourceFilters>, push = false) =>
    setFilters(v.url.pathname, { ...f, ...change }, push);

  useEffect(() => {
    const params = new URLSearchParams({ q: f.q, limit: String(LIMIT), offset: String(f.offset) });
    // A label filter still being typed ("env") is not sent until it has its value part.
    if (/[=:]/.test(f.label)) params.append('label', f.label);
    if (f.sort) params.set('sort', f.sort);
    const timer = setTimeout(() => {
      apiOf(v.pageSchema, 'GET', `${v.endpoint}?${params}`).then(
        (p) => {
          setPage(p);
          setError('');
        },
        (e) => setError(readable(e)),
      );
    }, 150);
    return () => clearTimeout(timer);
  }, [v.endpoint, f.q, f.label, f.offset, f.sort]);

  // A click on the column sorted by sorts the other way; on another column, by it (the proxy's default is by name).
  const sortBy = (key: string) => set({ sort: (f.sort || 'name') === key ? `-${key}` : key, offset: 0 }, true);
  const ariaSort = (key: string) =>
    f.sort === key || (!f.sort && key === 'name') ? 'ascending' : f.sort === `-${key}` ? 'descending' : undefined;
  const chooser = v.chooser !== false;
  const none = chooser && v.logins.length === 0;
  const cols = v.columns.length + 2;
  return (
    <section aria-labelledby="res-title">
      <h1 id="res-title">{v.title}</h1>
      <div class="toolbar" role="search">
        <div>
          <label for="q">Search</label>
          <input
            id="q"
            type="search"
            placeholder={v.searchHint ?? 'name, address or label'}
            value={f.q}
            onInput={(e) => set({ q: (e.target as HTMLInputElement).value, offset: 0 })}
          />
        </div>
        <div>
          <label for="label">Label</label>
          <input
            id="label"
            placeholder="env=prod, team:web"
            value={f.label}
            onInput={(e) => set({ label: (e.target as HTMLInputElement).value, offset: 0 })}
          />
        </div>
        {chooser && (
          <div style="flex:0 0 10rem">
            <label for="login">{v.loginLabel}</label>
            <select
              id="login"
              value={login}
              disabled={none}
              aria-describedby={none ? 'no-logins' : undefined}
              onChange={(e) => setLogin((e.target as HTMLSelectElement).value)}
            >
              {none && <option value="">no login granted</option>}
              {v.logins.map((l) => (
                <option key={l} value={l}>
                  {l}
                </option>
              ))}
            </select>
          </div>
        )}
      </div>
      {none && (
        <p class="notice" id="no-logins" data-testid="no-logins">
          {v.noLogins ?? `Your roles grant no login on these ${v.noun}. Ask an admin for one.`}
        </p>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <table class="cards">
        <thead>
          <tr>
            {v.columns.map((c) => (
              <th scope="col" key={c.label} aria-sort={c.sort ? ariaSort(c.sort) : undefined}>
                {c.sort ? (
                  <button type="button" class="sort" onClick={() => sortBy(c.sort!)}>
                    {c.label}
                  </button>
                ) : (
                  c.label
                )}
              </th>
            ))}
            <th scope="col">Labels</th>
            <th scope="col">
              <span class="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {page?.items.map((r) => {
            // The login chosen above when the roles grant it here, else the first one they grant here.
            const use = r.logins.includes(login) ? login : (r.logins[0] ?? '');
            return (
              <tr key={v.rowKey(r)} {...v.rowAttrs?.(r)}>
                {v.columns.map((c) => (
                  <td key={c.label}>{c.cell(r)}</td>
                ))}
                <td>
                  <LabelChips labels={r.labels} onPick={(k, val) => set({ label: withLabel(f.label, k, val), offset: 0 }, true)} />
                </td>
                <td>
                  {v.action ? (
                    v.action(r)
                  ) : (
                    <button
                      type="button"
                      disabled={!use}
                      aria-label={use ? `Connect to ${r.name} as ${use}` : `Connect to ${r.name} (no login granted)`}
                      aria-describedby={none ? 'no-logins' : undefined}
                      onClick={() => v.connect?.(r, use)}
                    >
                      Connect
                    </button>
                  )}
                </td>
              </tr>
            );
          })}
          {page && page.items.length === 0 && (
            <tr>
              <td colSpan={cols} class="muted">
                No {v.noun} match.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      {page && (
        <div class="pager" aria-live="polite">
          <span class="muted" data-testid="nodes-count">
            {page.total === 0 ? 0 : page.offset + 1}–{page.offset + page.items.length} of {page.total}
          </span>
          <button
            type="button"
            class="secondary"
            disabled={f.offset === 0}
            onClick={() => set({ offset: Math.max(0, f.offset - LIMIT) }, true)}
          >
            Previous
          </button>
          <button
            type="button"
            class="secondary"
            disabled={page.offset + page.items.length >= page.total}
            onClick={() => set({ offset: f.offset + LIMIT }, true)}
          >
            Next
          </button>
        </div>
      )}
    </section>
  );
}
