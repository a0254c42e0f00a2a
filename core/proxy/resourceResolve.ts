// Which agent serves a plugin's resource: several may heartbeat one name (HA), the proxy dials one it reaches now.
import { BadParameter, NotFound, Unavailable } from '../errors.ts';
import type { ResourceRecord } from '../plugin/types.ts';

/**
 * The record of `kind` named `target` to dial: among the records of that name whose agent `online` says is
 * reachable (its tunnel is held, or it has a direct address), the one heard from last. NotFound when no agent
 * serves the name, Unavailable when none serving it is reachable, BadParameter when the reachable ones disagree on
 * the plugin that serves it (two protocols under one name).
 */
export function pickResource(
  records: ResourceRecord[],
  kind: string,
  target: string,
  online: (r: ResourceRecord) => boolean,
): ResourceRecord {
  const named = records.filter((r) => r.kind === kind && r.name === target);
  if (named.length === 0) throw new NotFound(`${kind} "${target}" not found (see \`tp ${kind} ls\`)`);
  const live = named.filter(online);
  if (live.length === 0) {
    throw new Unavailable(
      `${kind} "${target}" is offline: no agent serving it is connected (${named.length} known: ${hosts(named)})`,
    );
  }
  const plugins = [...new Set(live.map((r) => r.plugin))];
  if (plugins.length > 1) {
    throw new BadParameter(
      `${kind} "${target}" is served by different plugins (${plugins.join(', ')}) on agents ${hosts(live)}; ` +
        'rename one of them',
    );
  }
  return live.reduce((a, b) => (b.lastSeen > a.lastSeen ? b : a));
}

/** One resource per name, for listings: the record heard from last, preferring reachable ones. */
export function distinctResources(
  records: ResourceRecord[],
  online: (r: ResourceRecord) => boolean,
): { record: ResourceRecord; online: boolean }[] {
  const byName = new Map<string, { record: ResourceRecord; online: boolean }>();
  for (const r of records) {
    const here = { record: r, online: online(r) };
    const seen = byName.get(`${r.kind}/${r.name}`);
    const better =
      !seen || (here.online && !seen.online) || (here.online === seen.online && r.lastSeen > seen.record.lastSeen);
    if (better) byName.set(`${r.kind}/${r.name}`, here);
  }
  return [...byName.values()].sort((a, b) => a.record.name.localeCompare(b.record.name));
}

function hosts(rs: ResourceRecord[]): string {
  return rs.map((r) => r.hostId).join(', ');
}
