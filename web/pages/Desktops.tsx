import type { ResourceRow } from '../../core/api/webSchemas.ts';
import { PluginResourcePage } from '../components/pluginResourcePage.tsx';
import { navigate } from '../router.ts';

const protocolOf = (row: ResourceRow) => (typeof row.spec.protocol === 'string' ? row.spec.protocol : row.plugin);

/** The desktops the user's roles reach; Connect opens one in the browser. */
export function Desktops({ url }: { url: URL }) {
  return (
    <PluginResourcePage
      url={url}
      kind="desktop"
      title="Desktops"
      noun="desktops"
      searchHint="name, protocol or label"
      columns={[{ label: 'Protocol', cell: (r) => <span class="muted">{protocolOf(r).toUpperCase()}</span> }]}
      action={(r) => (
        <button
          type="button"
          disabled={!r.online}
          aria-label={`Connect to ${r.name}`}
          onClick={() => navigate(`/web/desktops/${r.name}`, false, { desktopFromApp: true })}
        >
          Connect
        </button>
      )}
    />
  );
}
