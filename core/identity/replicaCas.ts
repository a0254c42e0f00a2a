import type { PublicCa } from '../api/schemas.ts';
import type { Replica } from '../state/replica.ts';
import type { ClusterCas } from './follower.ts';

/** The CAs (signing key first) and rotation phase a replica holds; undefined until all three CAs are in. */
export function replicaCas(replica: Replica): (ClusterCas & { cluster: string }) | undefined {
  const ca = (t: string) => replica.get<PublicCa>('ca', t);
  const [user, host, tls] = [ca('user'), ca('host'), ca('tls')];
  if (!user || !host || !tls) return undefined;
  const rotation = replica.get<ClusterCas['rotation']>('rotation', 'state') ?? { id: '', phase: 'standby' };
  return { cluster: user.cluster, userCa: user.sshKeys, hostCa: host.sshKeys, tlsCa: tls.tlsCerts, rotation };
}
