import * as v from 'valibot';
import type { Backend } from '../backend/index.ts';
import { getDoc } from '../backend/json.ts';
import { AlreadyExists, BadParameter } from '../errors.ts';
import { presetRoles } from '../rbac/index.ts';
import { RoleStore } from './roles.ts';

/** The cluster record: created once, by whichever auth server starts first. */
export interface ClusterInfo {
  name: string;
  createdAt: string;
}

const ClusterInfoSchema: v.GenericSchema<unknown, ClusterInfo> = v.looseObject({
  name: v.string(),
  createdAt: v.string(),
});

/**
 * Creates the cluster on first start (name and preset roles) or loads it; refuses to serve a database that
 * belongs to a cluster of another name.
 */
export async function ensureCluster(b: Backend, name: string, now: number): Promise<ClusterInfo> {
  const info: ClusterInfo = { name, createdAt: new Date(now).toISOString() };
  try {
    await b.create({ key: '/cluster', value: JSON.stringify(info) });
    const roles = new RoleStore(b);
    for (const role of presetRoles()) {
      await roles.put(role, false).catch((err: unknown) => {
        if (!(err instanceof AlreadyExists)) throw err;
      });
    }
    return info;
  } catch (err) {
    if (!(err instanceof AlreadyExists)) throw err;
  }
  const existing = (await getDoc(b, '/cluster', ClusterInfoSchema))!.value;
  if (existing.name !== name) {
    throw new BadParameter(`storage belongs to cluster "${existing.name}", but cluster_name is "${name}"`, {
      stored: existing.name,
      configured: name,
    });
  }
  return existing;
}
