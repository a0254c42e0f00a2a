import { useEffect, useState } from 'preact/hooks';
import { type NodeRow, NodePageSchema } from '../core/api/webSchemas.ts';
import { apiOf } from './api.ts';
import { Terminal } from './pages/Terminal.tsx';

/** One open terminal: a server, the login, and a key that stays the tab's own. */
interface Tab {
  key: number;
  node: string;
  login: string;
  name: string;
}

/**
 * Several web terminals on one page, one per tab: each keeps its own WebSocket (and SSH session) while another is
 * shown, "Open in a new tab" starts a session on another server, and closing a tab ends its session.
 */
export function TerminalTabs({ node, login, name }: { node: string; login: string; name: string }) {
  const [tabs, setTabs] = useState<Tab[]>([{ key: 0, node, login, name }]);
  const [active, setActive] = useState(0);
  const [servers, setServers] = useState<NodeRow[]>([]);
  const [pick, setPick] = useState('');
  const [pickLogin, setPickLogin] = useState(login);
  useEffect(() => {
    apiOf(NodePageSchema, 'GET', `/webapi/ui/nodes?${new URLSearchParams({ limit: '500' })}`).then(
      (r) => setServers(r.items.filter((n) => n.online)),
      () => setServers([]),
    );
  }, []);
  // Until one is picked, the list shows (and opens) this tab's own server, not a blank choice.
  const shown = pick || (servers.find((n) => n.hostId === node || n.name === node) ?? servers[0])?.hostId || '';
  const open = () => {
    const server = servers.find((n) => n.hostId === shown) ?? servers[0];
    if (!server || !pickLogin) return;
    const key = Math.max(...tabs.map((t) => t.key), -1) + 1;
    setTabs([...tabs, { key, node: server.hostId, login: pickLogin, name: server.name }]);
    setActive(key);
  };
  const close = (key: number) => {
    const left = tabs.filter((t) => t.key !== key);
    setTabs(left);
    if (active === key && left.length) setActive(left.at(-1)!.key);
  };
  return (
    <div class="term-page">
      <div class="term-tabs">
        <div role="tablist" aria-label="Terminal sessions" class="row">
          {tabs.map((t) => (
            <button
              key={t.key}
              type="button"
              role="tab"
              id={`term-tab-${t.key}`}
              aria-selected={t.key === active}
              aria-controls={`term-panel-${t.key}`}
              onClick={() => setActive(t.key)}
            >
              {t.login}@{t.name}
            </button>
          ))}
        </div>
        {servers.length > 0 && (
          <form
            class="row"
            onSubmit={(e) => {
              e.preventDefault();
              open();
            }}
          >
            <label class="sr-only" for="tab-server">
              Server
            </label>
            <select id="tab-server" value={shown} onChange={(e) => setPick((e.target as HTMLSelectElement).value)}>
              {servers.map((n) => (
                <option key={n.hostId} value={n.hostId}>
                  {n.name}
                </option>
              ))}
            </select>
            <label class="sr-only" for="tab-login">
              Login
            </label>
            <input id="tab-login" value={pickLogin} onInput={(e) => setPickLogin((e.target as HTMLInputElement).value)} />
            <button type="submit" class="secondary">
              Open in a new tab
            </button>
          </form>
        )}
      </div>
      {tabs.length === 0 && <p class="muted">Every session is closed.</p>}
      {tabs.map((t) => (
        <div
          key={t.key}
          role="tabpanel"
          class="term-page"
          id={`term-panel-${t.key}`}
          aria-labelledby={`term-tab-${t.key}`}
          hidden={t.key !== active}
        >
          <Terminal node={t.node} login={t.login} name={t.name} active={t.key === active} onClose={() => close(t.key)} />
        </div>
      ))}
    </div>
  );
}
