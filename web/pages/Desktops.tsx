import { ResourcePageSchema, type ResourceRow } from '../../core/api/webSchemas.ts';
import { type Column, ResourceView } from '../resourceView.tsx';
import { navigate } from '../router.ts';

const protocolOf = (row: ResourceRow) => (typeof row.spec.protocol === 'string' ? row.spec.protocol : row.plugin);

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
  { label: 'Protocol', cell: (r) => <span class="muted">{protocolOf(r).toUpperCase()}</span> },
];

/** The desktops the user's roles reach; Connect opens one in the browser. */
export function Desktops({ url }: { url: URL }) {
  return (
    <ResourceView<ResourceRow>
      title="Desktops"
      noun="desktops"
      url={url}
      endpoint="/webapi/ui/resources/desktop"
      pageSchema={ResourcePageSchema}
      columns={COLUMNS}
      rowKey={(r) => r.name}
      rowAttrs={(r) => ({ 'data-desktop': r.name })}
      logins={[]}
      loginLabel="Login"
      searchHint="name, protocol or label"
      chooser={false}
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
