import type { ApiClient } from '../api/client.ts';
import { AckSchema } from '../api/schemas.ts';
import type { Clock } from '../clock.ts';
import { describe, isCertificateError, Unauthenticated } from '../errors.ts';
import type { HostIdentity } from '../identity/hostIdentity.ts';
import { log } from '../log.ts';
import { certNotAfter, type LinkHealth, linkReason } from './linkHealth.ts';

/** What an agent whose saved identity was rotated out is told to do. */
export const REJOIN_HINT =
  "this agent's saved identity is no longer trusted by the cluster: its CAs were rotated while the agent was away. " +
  'Join again with a new token: `tp tokens add --type node` on the cluster, then `tp agent start --token TOKEN --ca-pin PIN` here ' +
  '(the old identity is set aside, not deleted).';

/**
 * Whether the proxy accepts the saved identity: a TLS or certificate refusal means it was rotated out, unless the
 * certificates only look out of date by this device's clock (then the clock is wrong, and the identity is kept).
 */
export async function probeIdentity(
  api: ApiClient,
  link: LinkHealth,
  id: HostIdentity,
  clock: Clock,
): Promise<'ok' | 'unreachable' | 'rejected'> {
  try {
    await api.send(AckSchema, 'GET', '/webapi/agent/state');
    return 'ok';
  } catch (err) {
    const reason = linkReason(err, { now: clock.now(), certNotAfter: certNotAfter(id) });
    if (reason === 'clock_skew') {
      link.down(reason);
      return 'unreachable';
    }
    if (err instanceof Unauthenticated) return 'rejected';
    if (isCertificateError(err)) return 'rejected';
    log.warn('proxy unreachable at start; will keep trying', { error: describe(err) });
    return 'unreachable';
  }
}
