import type { ResourceRow } from '../../core/api/webSchemas.ts';
import { CopyCommand, PluginResourcePage } from '../components/pluginResourcePage.tsx';

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

/** Launch (the launcher signs the browser in to the app's own host, in a new tab) and the `tp apps login` line. */
function AppActions({ row }: { row: ResourceRow }) {
  return (
    <CopyCommand
      cmd={loginCommand(row)}
      testId="app-login"
      label={`Copy the command to log in to ${row.name} from a terminal`}
    >
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
    </CopyCommand>
  );
}

/** The web apps the user's roles reach: Launch opens one in the browser; `tp apps login` gets one for curl. */
export function Applications({ url }: { url: URL }) {
  return (
    <PluginResourcePage
      url={url}
      kind="app"
      title="Applications"
      noun="applications"
      searchHint="name or label"
      columns={[{ label: 'Address', cell: (r) => <span class="muted">{appAddress(r, window.location)}</span> }]}
      action={(r) => <AppActions row={r} />}
    />
  );
}
