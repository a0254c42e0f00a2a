import { useEffect, useState } from 'preact/hooks';
import { api, readable, type Session } from '../api.ts';
import { filtersOf, LabelChips, type ResourceFilters, setFilters, withLabel } from '../resources.tsx';
import { navigate } from '../router.ts';

interface NodeRow {
  hostId: string;
  name: string;
  addr?: string;
  labels: Record<string, string>;
  online: boolean;
  agentless?: boolean;
}
interface Page {
  items: NodeRow[];
  total: number;
  offset: number;
  limit: number;
}

const LIMIT = 50;

/**
 * The servers the user may see: search, label filter and paging happen on the proxy, so 10k nodes stay fast; the
 * filters live in the address (back, forward and reload keep them) and a label chip filters on click.
 */
export function Nodes({ session, url }: { session: Session; url: URL }) {
  const f = filtersOf(url);
  const { q, label, offset } = f;
  const [page, setPage] = useState<Page | undefined>();
  const [error, setError] = useState('');
  const [login, setLogin] = useState(session.logins[0] ?? '');
  const set = (change: Partial<ResourceFilters>, push = false) => setFilters(url.pathname, { ...f, ...change }, push);

  useEffect(() => {
    const params = new URLSearchParams({ q, limit: String(LIMIT), offset: String(offset) });
    // A label filter still being typed ("env") is not sent until it has its value part.
    if (/[=:]/.test(label)) params.append('label', label);
    const timer = setTimeout(() => {
      api<Page>('GET', `/webapi/ui/nodes?${params}`).then(
        (p) => {
          setPage(p);
          setError('');
        },
        (e) => setError(readable(e)),
      );
    }, 150);
    return () => clearTimeout(timer);
  }, [q, label, offset]);

  return (
    <section aria-labelledby="nodes-title">
      <h1 id="nodes-title">Servers</h1>
      <div class="toolbar" role="search">
        <div>
          <label for="q">Search</label>
          <input
            id="q"
            type="search"
            placeholder="name, address or label"
            value={q}
            onInput={(e) => set({ q: (e.target as HTMLInputElement).value, offset: 0 })}
          />
        </div>
        <div>
          <label for="label">Label</label>
          <input
            id="label"
            placeholder="env=prod, team:web"
            value={label}
            onInput={(e) => set({ label: (e.target as HTMLInputElement).value, offset: 0 })}
          />
        </div>
        <div style="flex:0 0 10rem">
          <label for="login">Log in as</label>
          <select
            id="login"
            value={login}
            disabled={session.logins.length === 0}
            aria-describedby={session.logins.length === 0 ? 'no-logins' : undefined}
            onChange={(e) => setLogin((e.target as HTMLSelectElement).value)}
          >
            {session.logins.length === 0 && <option value="">no login granted</option>}
            {session.logins.map((l) => (
              <option key={l} value={l}>
                {l}
              </option>
            ))}
          </select>
        </div>
      </div>
      {session.logins.length === 0 && (
        <p class="notice" id="no-logins" data-testid="no-logins">
          {session.noLogins ?? 'Your roles grant no login on these servers. Ask an admin for one.'}
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
            <th scope="col">Name</th>
            <th scope="col">Address</th>
            <th scope="col">Labels</th>
            <th scope="col">
              <span class="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {page?.items.map((n) => (
            <tr key={n.hostId} data-node={n.name}>
              <td>
                <span class={`dot${n.online ? ' on' : ''}`} title={n.online ? 'online' : 'offline'} />
                {n.name}
              </td>
              <td class="muted">{n.addr ?? (n.online ? 'tunnel' : '')}</td>
              <td>
                <LabelChips labels={n.labels} onPick={(k, v) => set({ label: withLabel(label, k, v), offset: 0 }, true)} />
              </td>
              <td>
                <button
                  type="button"
                  disabled={!login}
                  aria-label={login ? `Connect to ${n.name} as ${login}` : `Connect to ${n.name} (no login granted)`}
                  aria-describedby={login ? undefined : 'no-logins'}
                  onClick={() =>
                    navigate(`/web/terminal?${new URLSearchParams({ node: n.hostId, login, name: n.name })}`, false, {
                      terminalFromApp: true,
                    })
                  }
                >
                  Connect
                </button>
              </td>
            </tr>
          ))}
          {page && page.items.length === 0 && (
            <tr>
              <td colSpan={4} class="muted">
                No servers match.
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
          <button type="button" class="secondary" disabled={offset === 0} onClick={() => set({ offset: Math.max(0, offset - LIMIT) }, true)}>
            Previous
          </button>
          <button
            type="button"
            class="secondary"
            disabled={page.offset + page.items.length >= page.total}
            onClick={() => set({ offset: offset + LIMIT }, true)}
          >
            Next
          </button>
        </div>
      )}
    </section>
  );
}
