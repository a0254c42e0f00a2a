import { useEffect, useState } from 'preact/hooks';
import { api, readable } from '../api.ts';

interface AuditEvent {
  id: string;
  type: string;
  code: string;
  time: string;
  success: boolean;
  user?: string;
  error?: string;
  [k: string]: unknown;
}

const RANGES = [
  ['1h', 3_600_000],
  ['24h', 86_400_000],
  ['7d', 7 * 86_400_000],
  ['30d', 30 * 86_400_000],
] as const;

/** The cluster's audit log, newest first, filtered by type, user and time on the server. */
export function Audit() {
  const [type, setType] = useState('');
  const [user, setUser] = useState('');
  const [range, setRange] = useState<number>(86_400_000);
  const [rows, setRows] = useState<AuditEvent[] | undefined>();
  const [open, setOpen] = useState<string | undefined>();
  const [error, setError] = useState('');
  useEffect(() => {
    const p = new URLSearchParams({ since: String(Date.now() - range), limit: '500' });
    if (type.trim()) p.set('type', type.trim());
    if (user.trim()) p.set('user', user.trim());
    const timer = setTimeout(() => {
      api<AuditEvent[]>('GET', `/webapi/ui/audit?${p}`).then(
        (r) => {
          setRows([...r].sort((a, b) => b.time.localeCompare(a.time)));
          setError('');
        },
        (e) => setError(readable(e)),
      );
    }, 200);
    return () => clearTimeout(timer);
  }, [type, user, range]);
  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">Audit log</h1>
      <div class="toolbar" role="search">
        <div>
          <label for="type">Event type</label>
          <input id="type" list="types" placeholder="user.login" value={type} onInput={(e) => setType((e.target as HTMLInputElement).value)} />
          <datalist id="types">
            {['user.login', 'user.logout', 'session.start', 'session.end', 'exec', 'mfa.add', 'user.locked_out'].map((t) => (
              <option key={t} value={t} />
            ))}
          </datalist>
        </div>
        <div>
          <label for="user">User</label>
          <input id="user" value={user} onInput={(e) => setUser((e.target as HTMLInputElement).value)} />
        </div>
        <div style="flex:0 0 8rem">
          <label for="range">Since</label>
          <select id="range" value={range} onChange={(e) => setRange(Number((e.target as HTMLSelectElement).value))}>
            {RANGES.map(([l, ms]) => (
              <option key={l} value={ms}>
                last {l}
              </option>
            ))}
          </select>
        </div>
      </div>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Event</th>
              <th scope="col">User</th>
              <th scope="col">Result</th>
            </tr>
          </thead>
          <tbody>
            {rows?.map((e) => (
              <>
                <tr key={e.id} data-type={e.type}>
                  <td>{new Date(e.time).toLocaleString()}</td>
                  <td>
                    <button
                      type="button"
                      class="secondary"
                      aria-expanded={open === e.id}
                      onClick={() => setOpen(open === e.id ? undefined : e.id)}
                    >
                      {e.type}
                    </button>{' '}
                    <span class="muted">{e.code}</span>
                  </td>
                  <td>{e.user}</td>
                  <td class={e.success ? 'ok' : 'error'}>{e.success ? 'ok' : (e.error ?? 'failed')}</td>
                </tr>
                {open === e.id && (
                  <tr key={`${e.id}-detail`}>
                    <td colSpan={4}>
                      <pre class="json">{JSON.stringify(e, null, 2)}</pre>
                    </td>
                  </tr>
                )}
              </>
            ))}
            {rows && rows.length === 0 && (
              <tr>
                <td colSpan={4} class="muted">
                  No events match.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
    </section>
  );
}
