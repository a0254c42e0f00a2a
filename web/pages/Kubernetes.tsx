import type { ResourceRow } from '../../core/api/webSchemas.ts';
import { CopyCommand, PluginResourcePage } from '../components/pluginResourcePage.tsx';

/** The command that points kubectl at a cluster through tp (`tp kube login`, then plain kubectl). */
export const kubeLoginCommand = (row: ResourceRow) => `tp kube login ${row.name}`;

/** The Kubernetes clusters the user's roles reach, each with the `tp kube login` command that sets up kubectl. */
export function Kubernetes({ url }: { url: URL }) {
  return (
    <PluginResourcePage
      url={url}
      kind="kube"
      title="Kubernetes"
      noun="Kubernetes clusters"
      loginLabel="Kubernetes user"
      searchHint="name or label"
      columns={[
        {
          label: 'Kubernetes users',
          cell: (r) =>
            r.logins.length ? (
              r.logins.map((u) => (u === '*' ? 'any' : u)).join(', ')
            ) : (
              <span class="muted">your own name</span>
            ),
        },
      ]}
      action={(r) => (
        <CopyCommand
          cmd={kubeLoginCommand(r)}
          testId="kube-login"
          label={`Copy the command to use ${r.name} with kubectl`}
        />
      )}
    />
  );
}
