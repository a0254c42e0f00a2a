// Plugins' resource records at auth: each agent's heartbeat replaces the set it serves, kept at
// `/resources/<kind>/<name>/<hostId>` (core/plugin/README.md) with the heartbeat's expiry.

import * as v from 'valibot';
import { type HeartbeatResource, ResourceRecordSchema, type ResourceRecordWire } from '../api/resourceSchemas.ts';
import type { Backend } from '../backend/index.ts';
import { getDoc, listDocs } from '../backend/json.ts';
import type { Clock } from '../clock.ts';
import { AccessDenied, NotFound } from '../errors.ts';
import type { Authorizer, Emit } from './authorizer.ts';
import type { Identity } from './identity.ts';

export type ResourceRecord = ResourceRecordWire;

const recordKey = (r: { kind: string; name: string; hostId: string }) => `/resources/${r.kind}/${r.name}/${r.hostId}`;
// Which record keys one agent wrote last, so its next heartbeat removes those it no longer reports without a scan
// of every agent's records. Not streamed (outside `/resources/`).
const indexKey = (hostId: string) => `/resource_index/${hostId}`;
const IndexSchema = v.array(v.string());

/** The resource records in the backend. */
export class ResourceRecordStore {
  constructor(private readonly b: Backend) {}

  /**
   * Makes `records` the whole set agent `hostId` serves, each expiring at `expires` (epoch ms): deletes the ones its
   * last set had and this one lacks, then writes the rest. Returns the revision of the last record written (what a
   * follower must reach to route to them), 0 when none was (an empty set: nothing to wait for).
   */
  async replace(hostId: string, records: ResourceRecord[], expires: number): Promise<number> {
    const keys = records.map(recordKey);
    const before = (await getDoc(this.b, indexKey(hostId), IndexSchema))?.value ?? [];
    if (keys.length === 0 && before.length === 0) return 0;
    const keep = new Set(keys);
    await Promise.all(
      before
        .filter((k) => !keep.has(k))
        .map((stale) =>
          this.b.delete(stale).catch((err: unknown) => {
            if (!(err instanceof NotFound)) throw err; // already expired: nothing to remove
          }),
        ),
    );
    // The index goes first: if a record write fails, the next beat still knows every key to clean up.
    await this.b.put({ key: indexKey(hostId), value: JSON.stringify(keys), expires });
    const written = await Promise.all(
      records.map((r) => this.b.put({ key: recordKey(r), value: JSON.stringify(r), expires })),
    );
    return Math.max(0, ...written.map((w) => w.revision));
  }

  /** Deletes every record agent `hostId` announced (its node was removed); none is not an error. */
  async removeHost(hostId: string): Promise<void> {
    const before = (await getDoc(this.b, indexKey(hostId), IndexSchema))?.value ?? [];
    for (const key of [...before, indexKey(hostId)]) {
      await this.b.delete(key).catch((err: unknown) => {
        if (!(err instanceof NotFound)) throw err; // expired already
      });
    }
  }

  /** Every live record, or those of one kind. */
  async list(kind?: string): Promise<ResourceRecord[]> {
    return listDocs(this.b, kind === undefined ? '/resources/' : `/resources/${kind}/`, ResourceRecordSchema);
  }
}

/** What the resource heartbeat reads and writes. */
export interface ResourceRecordOpsDeps {
  authz: Authorizer;
  emit: Emit;
  clock: Clock;
  records: ResourceRecordStore;
}

/** Agents' resource heartbeats. */
export class ResourceRecordOps {
  constructor(private readonly d: ResourceRecordOpsDeps) {}

  /**
   * Replaces the resources the calling agent serves with `resources`, alive for `ttlMs`, and returns the revision of
   * the write. Only an agent's own identity may call it: the host ID comes from its certificate, never the body.
   */
  async heartbeat(who: Identity, resources: HeartbeatResource[], ttlMs: number): Promise<number> {
    if (who.kind !== 'node') {
      const err = new AccessDenied('only an agent heartbeats its resources');
      await this.d.emit({
        type: 'node.heartbeat',
        success: false,
        user: `${who.kind}:${who.name}`,
        resources: resources.length,
        error: err.message,
      });
      throw err;
    }
    await this.d.authz.authorize(who, 'node', 'update');
    const now = this.d.clock.now();
    const lastSeen = new Date(now).toISOString();
    const records = resources.map((r) => ({ ...r, hostId: who.name, lastSeen }));
    return this.d.records.replace(who.name, records, now + ttlMs);
  }
}
