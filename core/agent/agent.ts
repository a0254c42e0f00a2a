import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { ClusterCasSchema, EventsIntakeSchema, ReissuedCertsSchema } from '../api/hostSchemas.ts';
import { AckSchema } from '../api/schemas.ts';
import { EventSpool } from '../audit/spool.ts';
import type { StoredLock } from '../auth/locks.ts';
import { type Clock, systemClock } from '../clock.ts';
import { privateDir } from '../config/privateDir.ts';
import { parseAuthorizedKey } from '../crypto/keys.ts';
import { parseCert } from '../crypto/sshcert.ts';
import { BadParameter, describe, Unauthenticated } from '../errors.ts';
import { IdentityFollower } from '../identity/follower.ts';
import { type HostIdentity, loadHostIdentity, saveHostIdentity } from '../identity/hostIdentity.ts';
import { replicaCas } from '../identity/replicaCas.ts';
import { cryptoIds, type IdSource } from '../ids.ts';
import { log } from '../log.ts';
import type { Backoff } from '../net/backoff.ts';
import { pluginEntries } from '../plugin/entries.ts';
import type { PluginRegistry } from '../plugin/registry.ts';
import type { Role } from '../rbac/index.ts';
import { Replica } from '../state/replica.ts';
import { type AgentSettings, proxyStateSource } from './clusterState.ts';
import { type CommandLabel, startCommandLabels } from './commandLabels.ts';
import { type DirectListener, startDirectListener } from './directListener.ts';
import { HEARTBEAT_MS, heartbeatSender } from './heartbeat.ts';
import { probeIdentity, REJOIN_HINT } from './identityProbe.ts';
import { IdleReclaim } from './idleReclaim.ts';
import { joinViaProxy } from './join.ts';
import { certNotAfter, LinkHealth, linkReason } from './linkHealth.ts';
import { PluginHost } from './pluginHost.ts';
import { ProxyApiClient } from './proxyApi.ts';
import { proxyRecordingSink, RecordingUploader } from './recordingUploader.ts';
import { startTunnelClient, type TunnelClient } from './tunnelClient.ts';

export interface AgentOptions {
  /** The agent's identity and audit event spool. */
  dataDir: string;
  /** The recording spool (sessions waiting for upload); never the recordings store or inside it. */
  recordingSpoolDir: string;
  /** The proxy's `host:port`. */
  proxy: string;
  /** Join token, needed only on the first start. */
  token?: string;
  caPin?: string;
  name: string;
  labels?: Record<string, string>;
  commandLabels?: CommandLabel[];
  /** 'tunnel' (default): hold a reverse tunnel to the proxy. Otherwise listen on this address for the proxy. */
  direct?: { listen: string; advertise?: string };
  /** The heartbeat period (ms). Default HEARTBEAT_MS. */
  heartbeatMs?: number;
  /** How often the agent re-checks its certificates against the cluster's CAs (ms); state itself is watched. */
  stateMs?: number;
  keepaliveMs?: number;
  backoff?: Backoff;
  version?: string;
  /** Use this identity instead of joining (all-in-one start). */
  identity?: HostIdentity;
  /** Recording uploads: attempts per session, their backoff, and the spool's byte cap. */
  uploadAttempts?: number;
  uploadBackoff?: Backoff;
  recordingSpoolBytes?: number;
  /** Time for the node's certificate checks, the tunnel keepalive and upload retries. Default the wall clock. */
  clock?: Clock;
  /** Connection and session IDs. Default the platform's cryptographic randomness. */
  ids?: IdSource;
  /** The protocol plugins of this build (plugins/index.ts). */
  plugins: PluginRegistry;
  /** The plugins to run and their tp.yaml entries (core/plugin/entries.ts); default those that need no entries. */
  pluginEntries?: Map<string, unknown[]>;
  /** Give start-up's and each session's code pages back to the kernel when idle (idleReclaim.ts); agent-only processes. */
  reclaimIdle?: boolean;
}

/** A running agent. */
export interface Agent extends AsyncDisposable {
  hostId: string;
  /** The plugins this agent runs (SSH first), with their open streams. */
  plugins: PluginHost;
  /** Uploads the node's recordings. */
  uploader: RecordingUploader;
  /** The node's audit event spool. */
  spool: EventSpool;
  /** True while the reverse tunnel is up (tunnel mode). */
  tunnelUp(): boolean;
  /** Address of the direct listener (direct mode). */
  directAddr?: string;
  close(): Promise<void>;
}

/**
 * Runs an agent: joins once (then reuses its saved identity and pinned CAs), keeps cluster state and its heartbeat
 * fresh through the proxy, and serves its plugins' streams (SSH first) over a reverse tunnel (reconnecting with
 * jittered exponential backoff) or on a direct mutual-TLS listener.
 */
export async function startAgent(o: AgentOptions): Promise<Agent> {
  privateDir(o.dataDir, 'agent data dir');
  const clock = o.clock ?? systemClock;
  let identity = o.identity ?? loadHostIdentity(o.dataDir);
  if (!identity) {
    if (!o.token)
      throw new BadParameter(
        `this agent has not joined yet: give --token (make one with \`tp tokens add --type node\`)`,
      );
    identity = await joinViaProxy({ proxy: o.proxy, token: o.token, role: 'node', hostName: o.name, caPin: o.caPin });
    saveHostIdentity(o.dataDir, identity);
    log.info('joined the cluster', { hostId: identity.hostId, cluster: identity.cluster });
  }
  const tlsOf = (h: HostIdentity) => ({ ca: h.tlsCa, cert: h.tlsCert, key: h.tlsKey });
  let api = new ProxyApiClient(o.proxy, tlsOf(identity));
  const link = new LinkHealth(clock);
  if (!o.identity && (await probeIdentity(api, link, identity, clock)) === 'rejected') {
    if (!o.token) throw new Unauthenticated(REJOIN_HINT);
    log.warn('the saved identity is no longer trusted by the cluster (rotated out?): joining again with the token');
    renameSync(join(o.dataDir, 'identity.json'), join(o.dataDir, `identity.json.rejected-${clock.now()}`));
    identity = await joinViaProxy({ proxy: o.proxy, token: o.token, role: 'node', hostName: o.name, caPin: o.caPin });
    saveHostIdentity(o.dataDir, identity);
    api.close();
    api = new ProxyApiClient(o.proxy, tlsOf(identity));
    log.info('joined the cluster again', { hostId: identity.hostId });
  }
  const id = identity;
  // A node's name is fixed at join (auth refuses heartbeats under another): a changed --name or host name warns.
  const name = parseCert(id.sshCert).principals[1] ?? o.name;
  if (name !== o.name)
    log.warn(`this agent joined as "${name}" and keeps that name; to rename it, join again with a new token`, {
      asked: o.name,
    });
  const timers: ReturnType<typeof setInterval>[] = [];

  let direct: DirectListener | undefined;
  const identityListeners: ((id: HostIdentity) => void)[] = [];
  const stateListeners: ((kinds: ReadonlySet<string>) => void)[] = [];
  const follower = new IdentityFollower(
    id,
    {
      fetch: () => api.send(ClusterCasSchema, 'GET', '/webapi/agent/state'),
      reissue: (req) => api.send(ReissuedCertsSchema, 'POST', '/webapi/agent/reissue', req),
      report: async (r) => {
        await api.send(AckSchema, 'POST', '/webapi/agent/rotation', r);
      },
    },
    name,
    (next) => {
      api.setTls(tlsOf(next));
      for (const fn of identityListeners) fn(next);
      direct?.setSecureContext({ cert: next.tlsCert, key: next.tlsKey, ca: next.tlsCa });
      if (!o.identity) saveHostIdentity(o.dataDir, next);
      log.info('agent picked up new CA keys');
    },
    Number.POSITIVE_INFINITY,
    clock,
  );
  const settings: AgentSettings = { sessionRecording: 'node' };
  const replica = new Replica(proxyStateSource(api, settings), { from: 'proxy', backoff: o.backoff });
  // Until the first snapshot arrives the node trusts the user CA it joined with and grants nothing by role.
  let userCa = id.userCa.map((l) => parseAuthorizedKey(l).blob);
  const clusterCas = () => replicaCas(replica);
  const followCas = () => {
    const cas = clusterCas();
    if (cas?.rotation) void follower.observe(cas);
  };
  replica.onChange((kinds) => {
    if (kinds.has('ca')) {
      const cas = clusterCas();
      if (cas) userCa = cas.userCa.map((l) => parseAuthorizedKey(l).blob);
    }
    if (kinds.has('ca') || kinds.has('rotation')) followCas();
    for (const fn of stateListeners) fn(kinds);
  });
  await replica.ready().catch((err: unknown) => {
    log.warn('could not load cluster state; will keep trying', { error: describe(err) });
  });
  replica.start();
  // Re-checks the identity against the cluster's CAs now and then (a failed renewal is retried), reading the replica.
  timers.push(setInterval(followCas, o.stateMs ?? 5000));

  const labels: Record<string, string> = { ...o.labels };
  timers.push(...startCommandLabels(labels, o.commandLabels ?? []));

  const spool = new EventSpool({
    path: join(o.dataDir, 'agent-spool.sqlite'),
    clock,
    ids: o.ids,
    send: async (events) => {
      const r = await api.send(EventsIntakeSchema, 'POST', '/webapi/agent/events', { events });
      if (r.rejected)
        log.warn('auth refused audit events this node sent (see audit.rejected)', { rejected: r.rejected });
    },
  });

  const recordingsDir = o.recordingSpoolDir;
  const uploader = new RecordingUploader({
    dir: recordingsDir,
    emit: (events) => spool.add(events),
    maxAttempts: o.uploadAttempts,
    backoff: o.uploadBackoff,
    maxBytes: o.recordingSpoolBytes,
    clock,
    sink: proxyRecordingSink(api),
  });
  const plugins = await PluginHost.start({
    registry: o.plugins,
    entries: o.pluginEntries ?? pluginEntries(o.plugins),
    tlsCa: () => clusterCas()?.tlsCa ?? follower.current.tlsCa,
    context: {
      hostId: id.hostId,
      nodeName: name,
      cluster: id.cluster,
      clock,
      ids: o.ids ?? cryptoIds,
      emit: (events) => spool.add(events),
      labels: () => labels,
      state: {
        userCas: () => userCa,
        roles: () => replica.list<Role>('role'),
        locks: () => replica.list<StoredLock>('lock'),
        onChange: (fn) => stateListeners.push(fn),
      },
      identity: () => follower.current,
      onIdentity: (fn) => identityListeners.push(fn),
      recording: { dir: recordingsDir, mode: () => settings.sessionRecording, onPart: () => uploader.kick() },
      call: (method, path, body, parse) => api.send(parse, method, path, body),
      dataDir: o.dataDir,
    },
  });
  const reclaim = o.reclaimIdle ? new IdleReclaim({ busy: () => plugins.openStreams > 0 }) : undefined;
  if (!reclaim) log.debug('idle code pages stay resident (ssh.reclaim_idle is false, or not an agent-only process)');
  const serveStream = (stream: import('node:stream').Duplex) => {
    void plugins.serve(stream).catch((err: unknown) => {
      log.warn('bad stream from proxy', { error: describe(err) });
      stream.destroy();
    });
    stream.once('close', () => reclaim?.settle());
  };

  let directAddr: string | undefined;
  let tunnel: TunnelClient | undefined;
  const heartbeatMs = o.heartbeatMs ?? HEARTBEAT_MS;
  const heartbeat = heartbeatSender(api, {
    name,
    labels,
    addr: () => directAddr,
    version: o.version,
    periodMs: heartbeatMs,
    resources: () => plugins.resources(),
    link,
    clock,
  });

  if (o.direct) {
    direct = await startDirectListener({
      listen: o.direct.listen,
      advertise: o.direct.advertise,
      identity: follower.current,
      onStream: serveStream,
    });
    directAddr = direct.addr;
  } else {
    tunnel = startTunnelClient({
      proxy: o.proxy,
      current: () => follower.current,
      onStream: serveStream,
      onUp: () => {
        link.up();
        void heartbeat();
      },
      onDown: (err) => link.down(linkReason(err, { now: clock.now(), certNotAfter: certNotAfter(follower.current) })),
      backoff: o.backoff,
      keepaliveMs: o.keepaliveMs,
      clock,
    });
  }
  await heartbeat();
  timers.push(setInterval(() => void heartbeat(), heartbeatMs));
  reclaim?.settle();

  const close = async () => {
    for (const t of timers) clearInterval(t);
    reclaim?.close();
    await replica.close();
    tunnel?.close('agent shutting down');
    direct?.close();
    await plugins.close();
    await uploader.close();
    await spool.close();
    api.close();
  };
  return {
    hostId: id.hostId,
    plugins,
    uploader,
    spool,
    tunnelUp: () => !!tunnel?.up(),
    directAddr,
    close,
    [Symbol.asyncDispose]: close,
  };
}
