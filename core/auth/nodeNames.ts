import { AlreadyExists, BadParameter, NotFound } from '../errors.ts';
import type { NodeRecord } from './nodes.ts';

// A node's name is chosen when it joins and checked by auth: it goes into the node's SSH host certificate (as
// itself and <name>.<cluster>), so it must never be an address, `localhost`, another node's host ID or a name
// under the cluster's own domain, and no two live nodes may share it.

const LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Throws BadParameter unless `name` may name a node of `cluster`: dot-separated DNS-like labels (letters, digits,
 * `-`, `_`), at most 253 characters, and not an IP address, `localhost`, a host ID or `*.<cluster>`.
 */
export function checkNodeName(name: string, cluster: string): void {
  const bad = (why: string) => new BadParameter(`node name "${name}" is not allowed: ${why}`);
  if (name.length === 0 || name.length > 253) throw bad('it must be 1 to 253 characters');
  const labels = name.split('.');
  if (!labels.every((l) => LABEL.test(l)))
    throw bad('use letters, digits, "-" and "_" in dot-separated labels of up to 63 characters');
  if (/^\d+$/.test(labels.at(-1)!)) throw bad('it looks like an IP address');
  const lower = name.toLowerCase();
  if (lower === 'localhost' || lower.endsWith('.localhost')) throw bad('it names the local host');
  if (UUID.test(name)) throw bad('it looks like a host ID');
  const domain = cluster.toLowerCase();
  if (lower === domain || lower.endsWith(`.${domain}`)) throw bad(`it is under the cluster's own name "${cluster}"`);
}

/** The records (other than host `hostId`'s own) that hold `name`, compared as DNS does: case-insensitively. */
export function nameHolders(nodes: NodeRecord[], name: string, hostId?: string): NodeRecord[] {
  const want = name.toLowerCase();
  return nodes.filter((n) => n.hostId !== hostId && n.name.toLowerCase() === want);
}

/** Throws AlreadyExists when a live node other than `hostId` holds `name`, naming it and how to free the name. */
export function checkNameFree(nodes: NodeRecord[], name: string, hostId?: string): void {
  const [holder] = nameHolders(nodes, name, hostId);
  if (!holder) return;
  throw new AlreadyExists(
    `node name "${name}" is taken by node ${holder.hostId} (last seen ${holder.lastSeen || 'never'}); ` +
      `choose another name, or remove that node first with \`tp nodes rm ${holder.hostId}\``,
  );
}

/** Error for a name several nodes hold: lists their host IDs so the caller can pick one. */
function ambiguous(query: string, nodes: NodeRecord[]): BadParameter {
  return new BadParameter(
    `"${query}" names ${nodes.length} nodes; use a host ID: ${nodes.map((n) => n.hostId).join(', ')}`,
  );
}

/**
 * The one node `query` names: a host ID, else a name, else an address (`host` or `host:port`). Among nodes of one
 * name, those `online` wins over offline ones, so a dead node's lingering record never shadows a live one; several
 * live (or only offline) nodes of one name are ambiguous, an error listing their host IDs.
 */
export function resolveNode(nodes: NodeRecord[], query: string, online: (n: NodeRecord) => boolean): NodeRecord {
  const byId = nodes.find((n) => n.hostId === query);
  if (byId) return byId;
  const byName = nodes.filter((n) => n.name === query);
  const live = byName.filter(online);
  const pick = live.length ? live : byName;
  if (pick.length === 1) return pick[0]!;
  if (pick.length > 1) throw ambiguous(query, pick);
  const byAddr = nodes.find((n) => n.addr === query || n.addr?.split(':')[0] === query);
  if (byAddr) return byAddr;
  throw new NotFound(`node "${query}" not found (see \`tp ls\`)`);
}

/** The one node an admin means by `query` (host ID or name); a name several nodes hold is ambiguous, never a guess. */
export function nodeToRemove(nodes: NodeRecord[], query: string): NodeRecord {
  const byId = nodes.find((n) => n.hostId === query);
  if (byId) return byId;
  const byName = nodes.filter((n) => n.name === query);
  if (byName.length > 1) throw ambiguous(query, byName);
  if (byName.length === 1) return byName[0]!;
  throw new NotFound(`node "${query}" not found (see \`tp nodes ls\`)`);
}
