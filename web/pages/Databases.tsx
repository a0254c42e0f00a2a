import { useState } from 'preact/hooks';
import { ResourcePageSchema, type ResourceRow } from '../../core/api/webSchemas.ts';
import { type Column, ResourceView } from '../resourceView.tsx';

/** The db user the command names: the first one the roles grant there (`*`, any user, leaves a placeholder). */
function dbUserOf(row: ResourceRow): string | undefined {
  const user = row.logins[0];
  return user === '*' ? 'USER' : user;
}

/** The command that connects to a database with the stock client through tp (`tp db connect`). */
export function connectCommand(row: ResourceRow): string | undefined {
  const user = dbUserOf(row);
  return user === undefined ? undefined : `tp db connect ${row.name} --db-user ${user}`;
}

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
  { label: 'Protocol', cell: (r) => <span class="muted">{protocolOf(r)}</span> },
  {
    label: 'Database users',
    cell: (r) => (r.logins.length ? r.logins.map((u) => (u === '*' ? 'any' : u)).join(', ') : <span class="muted">none</span>),
  },
];

/** The command to copy, or why there is none (the roles grant no database user there). */
function ConnectCommand({ row }: { row: ResourceRow }) {
  const [copied, setCopied] = useState(false);
  const cmd = connectCommand(row);
  if (!cmd) return <span class="muted">no database user granted</span>;
  return (
    <span class="connect-cmd">
      <code data-testid="db-connect">{cmd}</code>
      <button
        type="button"
        class="secondary"
        aria-label={`Copy the command to connect to ${row.name}`}
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

/** The databases the user's roles show, beside the servers, each with the `tp db connect` command to run. */
export function Databases({ url }: { url: URL }) {
  return (
    <ResourceView<ResourceRow>
      title="Databases"
      noun="databases"
      url={url}
      endpoint="/webapi/ui/resources/db"
      pageSchema={ResourcePageSchema}
      columns={COLUMNS}
      rowKey={(r) => r.name}
      rowAttrs={(r) => ({ 'data-db': r.name })}
      logins={[]}
      loginLabel="Database user"
      searchHint="name, protocol or label"
      chooser={false}
      action={(r) => <ConnectCommand row={r} />}
    />
  );
}
