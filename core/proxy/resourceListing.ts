// What a user may see of the plugins' resources: one row per name, filtered and annotated by the kind's policy.
import type { ListedResource } from '../api/resourceSchemas.ts';
import type { Page, ResourceRow } from '../api/webSchemas.ts';
import { AccessDenied, BadParameter } from '../errors.ts';
import type { Traits } from '../rbac/index.ts';
import type { AccessGate } from './accessGate.ts';
import type { ClusterView } from './clusterView.ts';
import { parseLabelFilter } from './nodePage.ts';
import { distinctResources } from './resourceResolve.ts';

/** Who is listing: the roles and traits their certificate states. */
export interface Lister {
  roles: string[];
  traits?: Traits;
}

/**
 * The resources of `kind` that `who`'s roles let them see (the kind's policy, deny winning), one per name (several
 * agents may serve one), sorted by name, each with whether an agent serving it is reachable and the principals the
 * roles grant there. BadParameter for a kind no plugin serves here, naming those that are.
 */
export async function visibleResources(
  view: ClusterView,
  gate: AccessGate,
  who: Lister,
  kind: string,
): Promise<ListedResource[]> {
  const policy = gate.kindPolicy(kind);
  if (!policy) {
    const known = gate.pluginKinds();
    throw new BadParameter(
      `no plugin serves resources of kind "${kind}" here${known.length ? ` (kinds: ${known.join(', ')})` : ''}`,
    );
  }
  const roles = await view.rolesNamed(who.roles);
  const traits = who.traits ?? {};
  const out: ListedResource[] = [];
  for (const { record, online } of distinctResources(await view.resources(kind), (r) => view.resourceOnline(r))) {
    try {
      policy.check(roles, traits, record, undefined);
    } catch (err) {
      if (err instanceof AccessDenied) continue; // not theirs to see
      throw err;
    }
    const { kind: k, name, labels, plugin, spec } = record;
    const principals = policy.principals?.(roles, traits, record);
    out.push({ kind: k, name, labels, plugin, spec, online, ...(principals ? { principals } : {}) });
  }
  return out;
}

/**
 * One page of listed resources for the web UI, filtered by a search text (name, label, protocol) and labels
 * (`parseLabelFilter`), sorted by name (`-name` for descending); each row's `logins` are its principals.
 */
export function pageResources(rows: ListedResource[], query: URLSearchParams): Page<ResourceRow> {
  const q = (query.get('q') ?? '').trim().toLowerCase();
  const labels = query.getAll('label').flatMap(parseLabelFilter);
  const limit = Math.min(Math.max(Number(query.get('limit') ?? 50) || 50, 1), 500);
  const offset = Math.max(Number(query.get('offset') ?? 0) || 0, 0);
  const sort = query.get('sort') ?? 'name';
  if (sort !== 'name' && sort !== '-name') throw new BadParameter('sort must be name (with - for descending)');
  const matches = rows.filter((r) => {
    if (labels.some(([k, val]) => r.labels[k] !== val)) return false;
    if (!q) return true;
    const protocol = typeof r.spec.protocol === 'string' ? r.spec.protocol : '';
    const hay = [r.name, protocol, ...Object.entries(r.labels).map(([k, val]) => `${k}=${val}`)];
    return hay.some((h) => h.toLowerCase().includes(q));
  });
  if (sort === '-name') matches.reverse();
  const items = matches.slice(offset, offset + limit).map((r) => ({ ...r, logins: r.principals ?? [] }));
  return { items, total: matches.length, offset, limit };
}
