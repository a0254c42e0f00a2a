import type { AuthService } from '../auth/service.ts';
import { type HostIdentity, keysOf, loadHostIdentity, saveHostIdentity } from '../identity/hostIdentity.ts';

/**
 * The identity of a proxy or node that runs beside auth in this process: issued there on every start, under the
 * host ID and keys saved in `dir` (made with `newId()` on the first start), so a restart is the same host with the
 * same keys, certified by the cluster's current CAs.
 */
export async function keptLocalIdentity(
  svc: AuthService,
  dir: string,
  role: 'node' | 'proxy',
  name: string,
  principals: string[],
  newId: () => string,
): Promise<HostIdentity> {
  const saved = loadHostIdentity(dir);
  const kept = saved && saved.cluster === svc.cluster && saved.role === role ? saved : undefined;
  // Loaded here, not at the top: issuing pulls in the X.509 library (~18 MB), which an agent alone never needs.
  const { localHostIdentity } = await import('../auth/localIdentity.ts');
  const id = await localHostIdentity(svc, role, name, principals, {
    hostId: kept?.hostId ?? newId(),
    keys: kept ? keysOf(kept) : undefined,
  });
  saveHostIdentity(dir, id);
  return id;
}
