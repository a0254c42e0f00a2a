import type { Output } from '../../cmd/lib/outputSchemas.ts';
import { ApiClient } from '../../core/api/client.ts';
import type { RecordingMeta } from '../../core/audit/store.ts';
import { requireHostIdentity } from '../../core/identity/hostIdentity.ts';
import { tp } from './cli.ts';
import { waitFor } from './cluster.ts';
import type { FixtureUser, SshFixture } from './sshFixture.ts';

/** API clients holding a joined agent's own node certificate, as a compromised node would use them. */
export interface NodeClients {
  hostId: string;
  /** To the proxy's web API (`/webapi/agent/...`), the way agents talk. */
  proxy: ApiClient;
  /** Straight to auth's mTLS API (`/v1/...`). */
  auth: ApiClient;
}

/** The node certificate of agent `name` of the fixture, read from its data dir. */
export function nodeClients(f: SshFixture, name: string): NodeClients {
  const dir = f.cluster.agentDirs.get(name);
  if (!dir) throw new Error(`no agent ${name}`);
  const id = requireHostIdentity(dir);
  const tls = { ca: id.tlsCa.join(''), cert: id.tlsCert, key: id.tlsKey };
  return {
    hostId: id.hostId,
    proxy: new ApiClient([f.cluster.proxy.addr], tls),
    auth: new ApiClient([f.cluster.auth.server.addr], tls),
  };
}

/** A recording part in the wire form nodes upload: JSON lines of [ms, stream, text], base64. */
export function partBody(...texts: string[]): { data: string } {
  const lines = texts.map((t, i) => JSON.stringify([i, 'o', t])).join('\n');
  return { data: Buffer.from(`${lines}\n`).toString('base64') };
}

/** Runs `echo <marker>` as the user on `node` and returns the session's recording once it is complete. */
export async function recordedEcho(
  f: SshFixture,
  u: FixtureUser,
  node: string,
  marker: string,
): Promise<RecordingMeta> {
  const r = await u.tp(['ssh', node, `echo ${marker}`]);
  if (r.stdout !== `${marker}\n`) throw new Error(`tp ssh ${node} printed ${JSON.stringify(r.stdout)}: ${r.stderr}`);
  let sessionId: string | undefined;
  await waitFor(`the recording of ${u.name}'s session`, async () => {
    const ls = await tp(['recordings', 'ls', '--format', 'json', '--data-dir', f.cluster.auth.dataDir]);
    sessionId = (JSON.parse(ls.stdout) as Output<'recordings ls'>).find(
      (m) => m.command === `echo ${marker}` && m.status === 'complete',
    )?.session_id;
    return !!sessionId;
  });
  // The metadata as the API holds it: the tests of agent writes send it back in the API's own form.
  return (await f.cluster.auth.client.getRecording(sessionId!)).meta;
}
