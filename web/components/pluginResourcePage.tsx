// The shell the list pages of plugin resources (databases, Kubernetes clusters, applications, desktops) share: the
// searchable table/cards of ResourceView on the plugin kind's endpoint, the name column with its online dot, and the
// command line with its Copy button.
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { ResourcePageSchema, type ResourceRow } from '../../core/api/webSchemas.ts';
import { type Column, ResourceView } from '../resourceView.tsx';

/** The Name column: the online/offline dot, then the resource's name (sortable). */
export const NAME_COLUMN: Column<ResourceRow> = {
  label: 'Name',
  sort: 'name',
  cell: (r) => (
    <>
      <span class={`dot${r.online ? ' on' : ''}`} title={r.online ? 'online' : 'offline'} />
      {r.name}
    </>
  ),
};

/** A command shown to copy (after `children`, if any), with a Copy button that says when it copied. */
export function CopyCommand(p: { cmd: string; testId: string; label: string; children?: ComponentChildren }) {
  const [copied, setCopied] = useState(false);
  return (
    <span class="connect-cmd">
      {p.children}
      <code data-testid={p.testId}>{p.cmd}</code>
      <button
        type="button"
        class="secondary"
        aria-label={p.label}
        onClick={() =>
          // Refused (no clipboard permission): the command stays on screen to copy by hand.
          void navigator.clipboard.writeText(p.cmd).then(
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

/** What a plugin's list page says: its kind (endpoint and `data-<kind>` row attribute), words, columns and action. */
export interface PluginResourcePageProps {
  url: URL;
  /** The resource kind: the page lists `/webapi/ui/resources/<kind>`, each row marked `data-<kind>="<name>"`. */
  kind: string;
  title: string;
  noun: string;
  searchHint: string;
  loginLabel?: string;
  /** The columns after Name. */
  columns: Column<ResourceRow>[];
  action: (row: ResourceRow) => ComponentChildren;
}

/** The searchable list of the plugin resources of `kind` the user's roles reach, with one action per row. */
export function PluginResourcePage(p: PluginResourcePageProps) {
  return (
    <ResourceView<ResourceRow>
      title={p.title}
      noun={p.noun}
      url={p.url}
      endpoint={`/webapi/ui/resources/${p.kind}`}
      pageSchema={ResourcePageSchema}
      columns={[NAME_COLUMN, ...p.columns]}
      rowKey={(r) => r.name}
      rowAttrs={(r) => ({ [`data-${p.kind}`]: r.name })}
      logins={[]}
      loginLabel={p.loginLabel ?? 'Login'}
      searchHint={p.searchHint}
      chooser={false}
      action={p.action}
    />
  );
}
