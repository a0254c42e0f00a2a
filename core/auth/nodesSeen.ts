import * as v from 'valibot';
import { type SeenNode, SeenNodeSchema } from '../api/linkSchemas.ts';
import type { NodeRecord } from '../api/schemas.ts';
import type { Backend } from '../backend/index.ts';
import { NotFound, TpError } from '../errors.ts';

const key = (id: string) => `/nodes_seen/${id}`;

/** How long a node that stopped heartbeating stays listed by `tp ls --all`. */
export const SEEN_KEEP_MS = 7 * 24 * 3_600_000;
/** A heartbeat rewrites the seen record at most this often, unless the agent's link report changed. */
const REFRESH_MS = 60_000;

/**
 * The last sighting of every node, kept for days after its heartbeated record lapsed: what `tp ls --all` shows of an
 * offline agent (its last-seen time and the link reason it last reported). Writes are spread: at most one a minute
 * per node, and at once when its link report changes.
 */
export class SeenNodeStore {
  private readonly written = new Map<string, { at: number; link: string }>();

  constructor(private readonly b: Backend) {}

  /** Records that `node` was seen at `now`. */
  async note(node: NodeRecord, now: number): Promise<void> {
    const link = JSON.stringify(node.link ?? null);
    const last = this.written.get(node.hostId);
    if (last && now - last.at < REFRESH_MS && last.link === link) return;
    const seen: SeenNode = {
      hostId: node.hostId,
      name: node.name,
      labels: node.labels,
      lastSeen: new Date(now).toISOString(),
      ...(node.link ? { link: node.link } : {}),
    };
    await this.b.put({ key: key(node.hostId), value: JSON.stringify(seen), expires: now + SEEN_KEEP_MS });
    if (this.written.size >= 100_000) this.written.clear();
    this.written.set(node.hostId, { at: now, link });
  }

  /** Every node seen in the last week. */
  async list(): Promise<SeenNode[]> {
    return (await this.b.range('/nodes_seen/')).map((i) => {
      const r = v.safeParse(SeenNodeSchema, JSON.parse(i.value));
      if (!r.success) throw new TpError(`stored record ${i.key} is malformed: ${r.issues[0].message}`);
      return r.output;
    });
  }

  /** Forgets a node (`tp nodes rm`); absent is fine. */
  async remove(hostId: string): Promise<void> {
    this.written.delete(hostId);
    await this.b.delete(key(hostId)).catch((err: unknown) => {
      if (!(err instanceof NotFound)) throw err;
    });
  }
}
