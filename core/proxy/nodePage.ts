import type { NodeRecord } from '../api/schemas.ts';
import type { NodeRow, Page } from '../api/webSchemas.ts';
import { BadParameter } from '../errors.ts';
import { loginsOn, nodeVisible, type Role, type Traits } from '../rbac/index.ts';
import { nodeOnline, type TunnelRegistry } from './tunnels.ts';

/**
 * A label filter as people type it: `key=value` or `key:value`, spaces around either part ignored, several
 * separated by commas (`env = prod, team:web`).
 */
export function parseLabelFilter(text: string): [string, string][] {
  return text
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const m = /^([^=:]+?)\s*[=:]\s*(.*)$/.exec(part);
      if (!m?.[1]) throw new BadParameter(`label filter "${part}" must look like key=value (or key:value)`);
      return [m[1].trim(), m[2]!.trim()];
    });
}

const SORTS: Record<string, (a: NodeRecord, b: NodeRecord) => number> = {
  name: (a, b) => a.name.localeCompare(b.name) || a.hostId.localeCompare(b.hostId),
  addr: (a, b) => (a.addr ?? '').localeCompare(b.addr ?? '') || SORTS.name!(a, b),
};

/**
 * One page of the nodes a user may see, filtered by a search text and labels (`parseLabelFilter`), sorted by
 * `sort` (`name` or `addr`, `-` first for descending), each with the logins the user's roles grant on it.
 */
export function pageNodes(
  nodes: NodeRecord[],
  roles: Role[],
  traits: Traits,
  tunnels: TunnelRegistry,
  query: URLSearchParams,
): Page<NodeRow> {
  const q = (query.get('q') ?? '').trim().toLowerCase();
  const labels = query.getAll('label').flatMap(parseLabelFilter);
  const limit = Math.min(Math.max(Number(query.get('limit') ?? 50) || 50, 1), 500);
  const offset = Math.max(Number(query.get('offset') ?? 0) || 0, 0);
  const sort = query.get('sort') ?? 'name';
  const by = SORTS[sort.replace(/^-/, '')];
  if (!by) throw new BadParameter(`sort must be one of ${Object.keys(SORTS).join(', ')} (with - for descending)`);
  const matches = nodes.filter((n) => {
    if (labels.some(([k, val]) => n.labels[k] !== val)) return false;
    if (q) {
      const hay = [n.name, n.hostId, n.addr ?? '', ...Object.entries(n.labels).map(([k, val]) => `${k}=${val}`)];
      if (!hay.some((h) => h.toLowerCase().includes(q))) return false;
    }
    return nodeVisible(roles, n.labels);
  });
  matches.sort(sort.startsWith('-') ? (a, b) => by(b, a) : by);
  const items = matches.slice(offset, offset + limit).map((n) => ({
    ...n,
    online: nodeOnline(n, tunnels),
    logins: loginsOn(roles, traits, n.labels),
  }));
  return { items, total: matches.length, offset, limit };
}
