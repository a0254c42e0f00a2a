// What the client remembers about databases, beside the profile's keys (so `tp logout` removes it): the route
// `tp db login` chose (db user and name, never a password), and the tunnels `tp proxy db --tunnel` runs now.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as v from 'valibot';
import { describe, TpError } from '../errors.ts';
import { type Profile, profileKeysDir } from './profile.ts';

/** The db user and database a connection to one database asks for. */
const DbRouteSchema = v.object({ user: v.string(), database: v.optional(v.string()) });
export type DbRoute = v.InferOutput<typeof DbRouteSchema>;

/** A tunnel running now: where it listens, for whom, and the process serving it. */
const TunnelRecordSchema = v.object({
  pid: v.number(),
  host: v.string(),
  port: v.number(),
  user: v.string(),
  database: v.optional(v.string()),
});
export type TunnelRecord = v.InferOutput<typeof TunnelRecordSchema>;

const dbDir = (p: Profile) => join(profileKeysDir(p.proxy), 'db');
const routesFile = (p: Profile) => join(dbDir(p), 'routes.json');
const tunnelFile = (p: Profile, name: string) => join(dbDir(p), 'tunnels', `${encodeURIComponent(name)}.json`);

function readJson<S extends v.GenericSchema>(path: string, schema: S): v.InferOutput<S> | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return v.parse(schema, JSON.parse(readFileSync(path, 'utf8')));
  } catch (err) {
    throw new TpError(`${path} is damaged (${describe(err)}): delete it and try again`, { path }, { cause: err });
  }
}

function writeJson(path: string, data: unknown): void {
  mkdirSync(join(path, '..'), { recursive: true, mode: 0o700 });
  writeFileSync(path, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600 });
}

const RoutesSchema = v.record(v.string(), DbRouteSchema);

/** The route `tp db login` remembered for `name`, if any. */
export function savedRoute(p: Profile, name: string): DbRoute | undefined {
  return readJson(routesFile(p), RoutesSchema)?.[name];
}

/** Remembers the route for `name` (replacing any earlier one). */
export function saveRoute(p: Profile, name: string, route: DbRoute): void {
  writeJson(routesFile(p), { ...readJson(routesFile(p), RoutesSchema), [name]: route });
}

/** Records a tunnel this process (`pid`) serves for `name`; returns how to forget it. */
export function recordTunnel(p: Profile, name: string, t: TunnelRecord): () => void {
  const path = tunnelFile(p, name);
  writeJson(path, t);
  return () => {
    if (readJson(path, TunnelRecordSchema)?.pid === t.pid) rmSync(path, { force: true });
  };
}

/** The tunnel running now for `name`, if its process is alive (a record left by a killed one is removed). */
export function runningTunnel(p: Profile, name: string, alive = processAlive): TunnelRecord | undefined {
  const path = tunnelFile(p, name);
  const t = readJson(path, TunnelRecordSchema);
  if (!t) return undefined;
  if (alive(t.pid)) return t;
  rmSync(path, { force: true });
  return undefined;
}

/** True when a process with this ID exists (signal 0 checks without sending anything). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
