import { useEffect, useState } from 'preact/hooks';
import { type NodeRow, NodePageSchema } from '../../core/api/webSchemas.ts';
import { apiOf } from '../api.ts';
import { appState, navigate } from '../router.ts';
import { TerminalTabs } from '../terminalTabs.tsx';

/**
 * Opens the web terminal only when the person asked for it: straight away from the app's own Connect button, and
 * after a click-through confirmation naming the server and login when the page came from a link (which anyone
 * could have sent). The server's name shown is the proxy's, never the link's.
 */
export function TerminalGate({ node, login }: { node: string; login: string }) {
  const [confirmed, setConfirmed] = useState(() => appState().terminalFromApp === true);
  const [known, setKnown] = useState<NodeRow | null | undefined>();
  useEffect(() => {
    if (confirmed) return;
    apiOf(NodePageSchema, 'GET', `/webapi/ui/nodes?${new URLSearchParams({ q: node, limit: '500' })}`).then(
      (r) => setKnown(r.items.find((n) => n.hostId === node || n.name === node) ?? null),
      () => setKnown(null),
    );
  }, [node, confirmed]);
  // A new address (another server or login) starts a new set of tabs.
  const name = new URLSearchParams(location.search).get('name') ?? node;
  if (confirmed) return <TerminalTabs key={`${node} ${login}`} node={node} login={login} name={name} />;
  const server = known ? `${known.name} (${known.hostId})` : node;
  return (
    <section class="card center" aria-labelledby="gate-title">
      <h1 id="gate-title">
        Open a shell on {server} as {login}?
      </h1>
      <p class="muted">
        This page was opened from a link. Continue only if you meant to start this session: everything you type runs
        on that server as {login}.
      </p>
      {known === null && <p class="error">No server you can see is called “{node}”.</p>}
      <div class="row">
        <button type="button" disabled={!known} onClick={() => setConfirmed(true)}>
          Open the shell
        </button>
        <button type="button" class="secondary" onClick={() => navigate('/web/nodes')}>
          Cancel
        </button>
      </div>
    </section>
  );
}
