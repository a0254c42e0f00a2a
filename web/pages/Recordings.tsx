import { useEffect, useState } from 'preact/hooks';
import * as v from 'valibot';
import { type RecordingMeta, RecordingMetaSchema } from '../../core/api/schemas.ts';
import { apiOf, readable } from '../api.ts';

/** A recording's metadata, as the auth API sends it. */
type Meta = RecordingMeta;

const duration = (m: Meta) => {
  if (!m.endedAt) return '';
  const s = Math.round((Date.parse(m.endedAt) - Date.parse(m.startedAt)) / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m ${s % 60}s`;
};

/** Recorded sessions, newest first, each a link to the player. */
export function Recordings() {
  const [rows, setRows] = useState<Meta[] | undefined>();
  const [error, setError] = useState('');
  useEffect(() => {
    apiOf(v.array(RecordingMetaSchema), 'GET', '/webapi/ui/recordings?limit=500').then(
      (r) => setRows([...r].sort((a, b) => b.startedAt.localeCompare(a.startedAt))),
      (e) => setError(readable(e)),
    );
  }, []);
  return (
    <section aria-labelledby="rec-title">
      <h1 id="rec-title">Session recordings</h1>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Started</th>
              <th scope="col">User</th>
              <th scope="col">Server</th>
              <th scope="col">Kind</th>
              <th scope="col">Length</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {rows?.map((m) => (
              <tr key={m.sessionId} data-session={m.sessionId}>
                <td>
                  <a href={`/web/recordings/${m.sessionId}`}>{new Date(m.startedAt).toLocaleString()}</a>
                </td>
                <td>
                  {m.user} as {m.login}
                </td>
                <td>{m.serverName}</td>
                <td>{m.kind === 'exec' ? <code>{m.command}</code> : 'shell'}</td>
                <td>{duration(m)}</td>
                <td>{m.status}</td>
              </tr>
            ))}
            {rows && rows.length === 0 && (
              <tr>
                <td colSpan={6} class="muted">
                  No recordings yet.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
    </section>
  );
}
