import type { Backend } from '../backend/index.ts';
import { listDocs } from '../backend/json.ts';
import { NotFound } from '../errors.ts';

/** A registered SSH node: agents heartbeat theirs; agentless OpenSSH nodes are added by an admin. */
export interface NodeRecord {
  hostId: string;
  name: string;
  /** Where the proxy dials it (direct mode and agentless); absent for tunnel-only agents. */
  addr?: string;
  labels: Record<string, string>;
  /** Reachable through a reverse tunnel held by the proxy. */
  tunnel: boolean;
  agentless?: boolean;
  version?: string;
  lastSeen: string;
}

const key = (id: string) => `/nodes/${id}`;

/** Node records in the backend; heartbeated records expire unless renewed. */
export class NodeStore {
  constructor(private readonly b: Backend) {}

  /** Writes a node record, expiring at `expires` (epoch ms) when given. */
  async upsert(node: NodeRecord, expires?: number): Promise<void> {
    await this.b.put({ key: key(node.hostId), value: JSON.stringify(node), expires });
  }

  async list(): Promise<NodeRecord[]> {
    return listDocs<NodeRecord>(this.b, '/nodes/');
  }

  /** Deletes by host ID or name. */
  async remove(idOrName: string): Promise<NodeRecord> {
    const found = (await this.list()).find((n) => n.hostId === idOrName || n.name === idOrName);
    if (!found) throw new NotFound(`node "${idOrName}" not found`);
    await this.b.delete(key(found.hostId));
    return found;
  }
}
