import * as v from 'valibot';
import { checkCaPin } from '../crypto/caPin.ts';
import { Unavailable } from '../errors.ts';

const ProxyCasSchema = v.object({ cluster: v.string(), tlsCa: v.array(v.string()), hostCa: v.array(v.string()) });

/** The cluster CAs a proxy publishes at `/webapi/cas`. */
export type ProxyCas = v.InferOutput<typeof ProxyCasSchema>;

/**
 * First contact with a proxy before its CA is known: fetches the cluster CAs without verifying the proxy, then
 * accepts them only if they match `caPin` (without a pin they are trusted on first use, and a warning is logged).
 * Throws Unavailable when the proxy cannot be reached or answers something else.
 */
export async function pinnedClusterCas(proxy: string, caPin: string | undefined): Promise<ProxyCas> {
  let cas: ProxyCas;
  try {
    // The proxy's certificate cannot be verified before we know the cluster's CA: the pin below is the check.
    const res = await fetch(`https://${proxy}/webapi/cas`, {
      tls: { rejectUnauthorized: false },
      signal: AbortSignal.timeout(15_000),
    } as RequestInit);
    cas = v.parse(ProxyCasSchema, await res.json());
  } catch (err) {
    throw new Unavailable(`cannot reach the proxy at ${proxy}: ${(err as Error).message}`);
  }
  checkCaPin(cas.tlsCa, caPin, "the proxy's cluster CA");
  return cas;
}
