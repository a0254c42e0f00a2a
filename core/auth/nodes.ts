import { type NodeRecord, NodeRecordSchema } from '../api/schemas.ts';
import type { Backend } from '../backend/index.ts';
import { listDocs } from '../backend/json.ts';
import { NotFound } from '../errors.ts';

export type { NodeRecord };

const key = (id: string) => `/nodes/${id}`;

/** Node records in the backend; heartbeated records expire unless renewed. */
export class NodeStore {
  constructor(private readonly b: Backend) {}

  /** Writes a node record, expiring at `expires` (epoch ms) when given; returns the write's revision. */
  async upsert(node: NodeRecord, expires?: number): Promise<number> {
    return (await this.b.put({ key: key(node.hostId), value: JSON.stringify(node), expires })).revision;
  }

  async list(): Promise<NodeRecord[]> {
    return listDocs(this.b, '/nodes/', NodeRecordSchema);
  }

  /** Deletes the record of host `hostId` (callers resolve names: see nodeNames.ts). */
  async remove(hostId: string): Promise<void> {
    await this.b.delete(key(hostId)).catch((err: unknown) => {
      if (err instanceof NotFound) throw new NotFound(`node "${hostId}" not found`);
      throw err;
    });
  }
}
