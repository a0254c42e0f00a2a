import { NodePageSchema, type NodeRow } from '../../core/api/webSchemas.ts';
import type { Session } from '../api.ts';
import { type Column, ResourceView } from '../resourceView.tsx';
import { navigate } from '../router.ts';

const COLUMNS: Column<NodeRow>[] = [
  {
    label: 'Name',
    sort: 'name',
    cell: (n) => (
      <>
        <span class={`dot${n.online ? ' on' : ''}`} title={n.online ? 'online' : 'offline'} />
        {n.name}
      </>
    ),
  },
  { label: 'Address', sort: 'addr', cell: (n) => <span class="muted">{n.addr ?? (n.online ? 'tunnel' : '')}</span> },
];

/** The servers the user may see, on the shared resource view; Connect opens a web terminal. */
export function Nodes({ session, url }: { session: Session; url: URL }) {
  return (
    <ResourceView<NodeRow>
      title="Servers"
      noun="servers"
      url={url}
      endpoint="/webapi/ui/nodes"
      pageSchema={NodePageSchema}
      columns={COLUMNS}
      rowKey={(n) => n.hostId}
      rowAttrs={(n) => ({ 'data-node': n.name })}
      logins={session.logins}
      loginLabel="Log in as"
      noLogins={session.noLogins}
      connect={(n, login) =>
        navigate(`/web/terminal?${new URLSearchParams({ node: n.hostId, login, name: n.name })}`, false, {
          terminalFromApp: true,
        })
      }
    />
  );
}
