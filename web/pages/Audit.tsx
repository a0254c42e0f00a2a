import { useEffect, useState } from 'preact/hooks';
import * as v from 'valibot';
import { AuditEventSchema } from '../../core/api/schemas.ts';
import { apiOf, readable } from '../api.ts';
import { type AuditEvent, describeEvent, playable } from '../auditText.ts';

const RANGES = [
  ['last hour', 3_600_000],
  ['last 24 hours', 86_400_000],
  ['last 7 days', 7 * 86_400_000],
  ['last 30 days', 30 * 86_400_000],
] as const;
const CUSTOM = -1;

/** The filter the proxy answered for (the table says which, so nothing mistakes old rows for new ones). */
interface Shown {
  rows: AuditEvent[];
  type: string;
  user: string;
}

/** One event opened: its fields as a list, the raw JSON on demand. */
function Detail({ e }: { e: AuditEvent }) {
  const [raw, setRaw] = useState(false);
  return (
    <div class="stack" data-testid="event-detail">
      <dl class="kv">
        {Object.entries(e).map(([k, v]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd>{typeof v === 'string' ? v : JSON.stringify(v)}</dd>
          </div>
        ))}
      </dl>
      <button type="button" class="secondary" aria-expanded={raw} onClick={() => setRaw(!raw)}>
        JSON
      </button>
      {raw && <pre class="json">{JSON.stringify(e, null, 2)}</pre>}
    </div>
  );
}

/** Offers the events as a JSON-lines file. */
function exportLines(rows: AuditEvent[]): void {
  const blob = new Blob([rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : '')], {
    type: 'application/x-ndjson',
  });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = 'tp-audit.jsonl';
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

const localMs = (v: string) => (v ? new Date(v).getTime() : Number.NaN);

/** The cluster's audit log, newest first: type and user (each a prefix, any case) and time range filtered on the proxy. */
export function Audit({ canPlay }: { canPlay: boolean }) {
  const [type, setType] = useState('');
  const [user, setUser] = useState('');
  const [range, setRange] = useState<number>(86_400_000);
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  // The proxy's list: every type the cluster records (this page may not know each one's sentence yet).
  const [types, setTypes] = useState<string[]>([]);
  const [shown, setShown] = useState<Shown | undefined>();
  const [open, setOpen] = useState<string | undefined>();
  const [error, setError] = useState('');
  useEffect(() => {
    apiOf(v.array(v.string()), 'GET', '/webapi/ui/audit/types').then(setTypes, (e) => setError(readable(e)));
  }, []);
  useEffect(() => {
    const p = new URLSearchParams({ limit: '500' });
    if (range === CUSTOM) {
      if (!Number.isNaN(localMs(from))) p.set('since', String(localMs(from)));
      if (!Number.isNaN(localMs(to))) p.set('until', String(localMs(to)));
    } else p.set('since', String(Date.now() - range));
    const want = { type: type.trim(), user: user.trim() };
    if (want.type) p.set('type', want.type);
    if (want.user) p.set('user', want.user);
    const timer = setTimeout(() => {
      apiOf(v.array(AuditEventSchema), 'GET', `/webapi/ui/audit?${p}`).then(
        (rows) => {
          setShown({ rows, ...want });
          setError('');
        },
        (e) => setError(readable(e)),
      );
    }, 200);
    return () => clearTimeout(timer);
  }, [type, user, range, from, to]);
  const rows = shown?.rows;
  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">Audit log</h1>
      <div class="toolbar" role="search">
        <div>
          <label for="type">Event type</label>
          <input
            id="type"
            list="types"
            placeholder="session, user.login …"
            value={type}
            onInput={(e) => setType((e.target as HTMLInputElement).value)}
          />
          <datalist id="types">
            {types.map((t) => (
              <option key={t} value={t} />
            ))}
          </datalist>
        </div>
        <div>
          <label for="user">User</label>
          <input id="user" value={user} onInput={(e) => setUser((e.target as HTMLInputElement).value)} />
        </div>
        <div style="flex:0 0 11rem">
          <label for="range">When</label>
          <select id="range" value={range} onChange={(e) => setRange(Number((e.target as HTMLSelectElement).value))}>
            {RANGES.map(([l, ms]) => (
              <option key={l} value={ms}>
                {l}
              </option>
            ))}
            <option value={CUSTOM}>dates…</option>
          </select>
        </div>
        {range === CUSTOM && (
          <>
            <div>
              <label for="from">From</label>
              <input id="from" type="datetime-local" value={from} onInput={(e) => setFrom((e.target as HTMLInputElement).value)} />
            </div>
            <div>
              <label for="to">To</label>
              <input id="to" type="datetime-local" value={to} onInput={(e) => setTo((e.target as HTMLInputElement).value)} />
            </div>
          </>
        )}
        <div style="flex:0 0 auto;min-width:0">
          <button type="button" class="secondary" disabled={!rows} onClick={() => rows && exportLines(rows)}>
            Export JSON lines
          </button>
        </div>
      </div>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <div class="table-wrap">
        <table class="cards" data-shown-type={shown?.type} data-shown-user={shown?.user} aria-busy={!shown}>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Event</th>
              <th scope="col">What happened</th>
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
                  <td data-testid="event-text">
                    {describeEvent(e)}
                    {canPlay && playable(e) && (
                      <>
                        {' '}
                        <a href={`/web/recordings/${e.session_id}`} aria-label={`Play the recording of session ${e.session_id}`}>
                          Play
                        </a>
                      </>
                    )}
                  </td>
                  <td class={e.success ? 'ok' : 'error'}>{e.success ? 'ok' : 'failed'}</td>
                </tr>
                {open === e.id && (
                  <tr key={`${e.id}-detail`}>
                    <td colSpan={4}>
                      <Detail e={e} />
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
