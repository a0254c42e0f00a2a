import { useState } from 'preact/hooks';
import { ResourcePageSchema, type ResourceRow } from '../../core/api/webSchemas.ts';
import { type Column, ResourceView } from '../resourceView.tsx';

/**
 * The host (and port) an app is served on, as the proxy routes it: its `public_addr`, else `<name>.<this proxy's
 * host>`, on this proxy's port unless it names one (the web UI is served on the proxy's public address).
 */
export function appAddress(row: ResourceRow, here: { hostname: string; port: string }): string {
  const given = typeof row.spec.public_addr === 'string' ? row.spec.public_addr : `${row.name}.${here.hostname}`;
  return /:\d+$/.test(given) || !here.port || here.port === '443' ? given : `${given}:${here.port}`;
}

/** The command that writes an app certificate for curl and scripts. */
export const loginCommand = (row: ResourceRow) => `tp apps login ${row.name}`;

const COLUMNS: Column<ResourceRow>[] = [
  {
    label: 'Name',
    sort: 'name',
    cell: (r) => (
      <>
        <span class={`dot${r.online ? ' on' : ''}`} title={r.online ? 'online' : 'offline'} />
        {r.name}
      </>
    ),
  },
  { label: 'Address', cell: (r) => <span class="muted">{appAddress(r, window.location)}</span> },
];

/** Launch (the launcher signs the browser in to the app's own host, in a new tab) and the `tp apps login` line. */
function AppActions({ row }: { row: ResourceRow }) {
  const [copied, setCopied] = useState(false);
  const cmd = loginCommand(row);
  return (
    <span class="connect-cmd">
      <a
        class={`button${row.online ? '' : ' disabled'}`}
        href={`/web/launch/${encodeURIComponent(row.name)}`}
        target="_blank"
        rel="noopener"
        aria-disabled={!row.online}
        aria-label={`Launch ${row.name}`}
        data-testid="app-launch"
      >
        Launch
      </a>
      <code data-testid="app-login">{cmd}</code>
      <button
        type="button"
        class="secondary"
        aria-label={`Copy the command to log in to ${row.name} from a terminal`}
        onClick={() =>
          // Refused (no clipboard permission): the command stays on screen to copy by hand.
          void navigator.clipboard.writeText(cmd).then(
            () => setCopied(true),
            () => setCopied(false),
          )
        }
      >
        {copied ? 'Copied' : 'Copy'}
      </button>
    </span>
  );
}

/** The web apps the user's roles reach: Launch opens one in the browser; `tp apps login` gets one for curl. */
export function Applications({ url }: { url: URL }) {
  return (
    <ResourceView<ResourceRow>
      title="Applications"
      noun="applications"
      url={url}
      endpoint="/webapi/ui/resources/app"
      pageSchema={ResourcePageSchema}
      columns={COLUMNS}
      rowKey={(r) => r.name}
      rowAttrs={(r) => ({ 'data-app': r.name })}
      logins={[]}
      loginLabel="Login"
      searchHint="name or label"
      chooser={false}
      action={(r) => <AppActions row={r} />}
    />
  );
}
