import { useState } from 'preact/hooks';
import { ResourcePageSchema, type ResourceRow } from '../../core/api/webSchemas.ts';
import { type Column, ResourceView } from '../resourceView.tsx';

/** The command that points kubectl at a cluster through tp (`tp kube login`, then plain kubectl). */
export const kubeLoginCommand = (row: ResourceRow) => `tp kube login ${row.name}`;

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
  {
    label: 'Kubernetes users',
    cell: (r) =>
      r.logins.length ? (
        r.logins.map((u) => (u === '*' ? 'any' : u)).join(', ')
      ) : (
        <span class="muted">your own name</span>
      ),
  },
];

/** The `tp kube login` line to copy. */
function LoginCommand({ row }: { row: ResourceRow }) {
  const [copied, setCopied] = useState(false);
  const cmd = kubeLoginCommand(row);
  return (
    <span class="connect-cmd">
      <code data-testid="kube-login">{cmd}</code>
      <button
        type="button"
        class="secondary"
        aria-label={`Copy the command to use ${row.name} with kubectl`}
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

/** The Kubernetes clusters the user's roles reach, each with the `tp kube login` command that sets up kubectl. */
export function Kubernetes({ url }: { url: URL }) {
  return (
    <ResourceView<ResourceRow>
      title="Kubernetes"
      noun="Kubernetes clusters"
      url={url}
      endpoint="/webapi/ui/resources/kube"
      pageSchema={ResourcePageSchema}
      columns={COLUMNS}
      rowKey={(r) => r.name}
      rowAttrs={(r) => ({ 'data-kube': r.name })}
      logins={[]}
      loginLabel="Kubernetes user"
      searchHint="name or label"
      chooser={false}
      action={(r) => <LoginCommand row={r} />}
    />
  );
}
