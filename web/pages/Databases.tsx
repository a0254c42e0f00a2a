import type { ResourceRow } from '../../core/api/webSchemas.ts';
import { CopyCommand, PluginResourcePage } from '../components/pluginResourcePage.tsx';

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

/** The command to copy, or why there is none (the roles grant no database user there). */
function ConnectCommand({ row }: { row: ResourceRow }) {
  const cmd = connectCommand(row);
  if (!cmd) return <span class="muted">no database user granted</span>;
  return <CopyCommand cmd={cmd} testId="db-connect" label={`Copy the command to connect to ${row.name}`} />;
}

/** The databases the user's roles show, beside the servers, each with the `tp db connect` command to run. */
export function Databases({ url }: { url: URL }) {
  return (
    <PluginResourcePage
      url={url}
      kind="db"
      title="Databases"
      noun="databases"
      loginLabel="Database user"
      searchHint="name, protocol or label"
      columns={[
        { label: 'Protocol', cell: (r) => <span class="muted">{protocolOf(r)}</span> },
        {
          label: 'Database users',
          cell: (r) =>
            r.logins.length ? r.logins.map((u) => (u === '*' ? 'any' : u)).join(', ') : <span class="muted">none</span>,
        },
      ]}
      action={(r) => <ConnectCommand row={r} />}
    />
  );
}
