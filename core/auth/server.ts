import { writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { openRecordingsStore, type RecordingsStoreConfig } from '../audit/blobStore.ts';
import { AuditLog, openAuditStore } from '../audit/log.ts';
import { type Backend, openBackend, type StorageConfig } from '../backend/index.ts';
import { type Clock, systemClock } from '../clock.ts';
import { privateDir } from '../config/privateDir.ts';
import { generateKeyPair } from '../crypto/keys.ts';
import { pemBundle } from '../crypto/pem.ts';
import { describe } from '../errors.ts';
import { SERVERS_RENEW } from '../identity/rotationPhase.ts';
import { cryptoIds, type IdSource } from '../ids.ts';
import { log } from '../log.ts';
import { parseHostPort } from '../net/index.ts';
import { startMetricsServer } from '../web/metricsServer.ts';
import { createAuthApi } from './api.ts';
import { ensureCas } from './cas.ts';
import { ChangeStream } from './changeStream.ts';
import { ensureCluster } from './cluster.ts';
import { issueHostCerts } from './issuer.ts';
import { LockStore } from './locks.ts';
import { DEFAULT_LOCKOUT, type LockoutPolicy, LoginGuard } from './login.ts';
import { NodeStore } from './nodes.ts';
import type { SecondFactor } from './service.ts';
import { AuthService } from './service.ts';
import { ConnectorStore } from './sso/connectors.ts';
import { TokenStore } from './tokens.ts';
import { UserStore } from './users.ts';

export interface AuthServerOptions {
  clusterName: string;
  dataDir: string;
  storage: StorageConfig;
  /** `host:port` to listen on; port 0 picks a free port. */
  listen: string;
  secondFactor?: SecondFactor;
  /** Base URL of the web UI (for sign-up links). */
  publicUrl?: string;
  /** Extra names/addresses for the auth server's certificate. */
  advertise?: string[];
  clock?: Clock;
  /** Where IDs and secrets come from (default: the platform's cryptographic randomness). */
  ids?: IdSource;
  lockout?: LockoutPolicy;
  /** Use this backend instead of opening one from `storage` (tests). */
  backend?: Backend;
  /** Where recordings go (default: `<dataDir>/recordings`). */
  recordings?: RecordingsStoreConfig;
  /** `node` (default): nodes record sessions; `off`: no recordings. */
  sessionRecording?: 'node' | 'off';
  /** How often this server applies rotation changes and advances automatic rotations (ms). Default 1 s. */
  rotationTickMs?: number;
  /** `host:port` of a plain-HTTP listener serving `/metrics`; none when absent (never on the API port). */
  metricsListen?: string;
}

/** A running auth server: service, API listener and the address it got. */
export interface AuthServer extends AsyncDisposable {
  service: AuthService;
  backend: Backend;
  /** `host:port` actually bound. */
  addr: string;
  /** The metrics listener's address, when enabled. */
  metricsAddr?: string;
  /** Sets the web UI's base URL for sign-up links (an all-in-one cluster learns its proxy's address after start). */
  setPublicUrl(url: string): void;
  close(): Promise<void>;
}

/** Where the local admin identity lives in a data dir (read by the admin CLI). */
export function adminIdentityDir(dataDir: string): string {
  return join(dataDir, 'admin');
}

/**
 * Starts the auth service: opens storage, creates the cluster and CAs on first start, issues itself a server
 * certificate and a local admin identity (in `<dataDir>/admin`, mode 0600), and serves the mTLS API.
 */
export async function startAuthServer(opts: AuthServerOptions): Promise<AuthServer> {
  const clock = opts.clock ?? systemClock;
  const ids = opts.ids ?? cryptoIds;
  privateDir(opts.dataDir, 'auth data dir');
  const backend = opts.backend ?? (await openBackend(opts.storage, opts.dataDir, clock));
  const now = clock.now();
  await ensureCluster(backend, opts.clusterName, now);
  const cas = await ensureCas(backend, opts.clusterName, now);
  const [host, port] = parseHostPort(opts.listen);
  const auditStore = await openAuditStore(opts.storage, opts.dataDir);
  const service = new AuthService({
    backend,
    clock,
    cluster: opts.clusterName,
    cas,
    users: new UserStore(backend, ids),
    connectors: new ConnectorStore(backend),
    tokens: new TokenStore(backend, ids),
    nodes: new NodeStore(backend),
    locks: new LockStore(backend, ids),
    guard: new LoginGuard(backend, clock, opts.lockout ?? DEFAULT_LOCKOUT, ids),
    audit: new AuditLog(auditStore, clock, opts.clusterName),
    secondFactor: opts.secondFactor ?? 'otp',
    publicUrl: opts.publicUrl ?? 'https://localhost:3080',
    recordings: await openRecordingsStore(opts.recordings, opts.dataDir),
    sessionRecording: opts.sessionRecording ?? 'node',
    ids,
  });

  const names = [...new Set(['localhost', '127.0.0.1', '::1', hostname(), host, ...(opts.advertise ?? [])])].filter(
    (n) => n && n !== '0.0.0.0' && n !== '::',
  );
  const serverKey = generateKeyPair('p256');
  const serverKeyPem = serverKey.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const issueServerCert = async () =>
    (
      await issueHostCerts({
        hostCa: service.ca('host'),
        tlsCa: service.ca('tls'),
        cluster: opts.clusterName,
        role: 'auth',
        hostId: ids.uuid(),
        hostName: hostname(),
        principals: names,
        serverNames: names,
        tlsPublicKey: serverKey.publicKey.export({ type: 'spki', format: 'pem' }) as string,
        ttlMs: 365 * 86_400_000,
        now: clock.now(),
      })
    ).tlsCert;
  let serverCert = await issueServerCert();
  const changes = await ChangeStream.open(backend);
  const server = createAuthApi(
    service,
    { cert: serverCert, key: serverKeyPem, ca: service.ca('tls').tlsTrusted },
    changes,
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = server.address() as AddressInfo;
  const reach = bound.address === '0.0.0.0' ? '127.0.0.1' : bound.address === '::' ? '::1' : bound.address;
  const addr = bound.family === 'IPv6' && reach.includes(':') ? `[${reach}]:${bound.port}` : `${reach}:${bound.port}`;
  await writeAdminIdentity(service, opts.dataDir, addr, now);
  const metrics = opts.metricsListen ? await startMetricsServer(opts.metricsListen, server.renderMetrics) : undefined;
  log.info('auth service started', { cluster: opts.clusterName, addr, storage: backend.name });

  // CA rotation: trust what the CAs trust now; from update_servers on, serve a certificate from the signing CA.
  service.cas.onChange(() => {
    void (async () => {
      const { state } = await service.rotation.store.get();
      if (SERVERS_RENEW.has(state.phase)) serverCert = await issueServerCert();
      server.setSecureContext({ cert: serverCert, key: serverKeyPem, ca: service.ca('tls').tlsTrusted });
      await writeAdminIdentity(service, opts.dataDir, addr, clock.now());
      log.info('auth server picked up new CA keys', { phase: state.phase });
    })().catch((err: unknown) => log.error('could not apply new CA keys', { error: describe(err) }));
  });
  let ticking = false;
  const ticker = setInterval(() => {
    if (ticking) return;
    ticking = true;
    service.rotation
      .tick()
      .catch((err: unknown) => log.warn('rotation tick failed', { error: describe(err) }))
      .finally(() => {
        ticking = false;
      });
  }, opts.rotationTickMs ?? 1000);

  const close = async () => {
    clearInterval(ticker);
    metrics?.close();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    await changes.close();
    server.dropConnections();
    await closed;
    await auditStore.close();
    if (!opts.backend) await backend.close();
  };
  const setPublicUrl = (url: string) => {
    service.deps.publicUrl = url;
  };
  return { service, backend, addr, metricsAddr: metrics?.addr, setPublicUrl, close, [Symbol.asyncDispose]: close };
}

/** Writes the local admin identity: a fresh 30-day admin certificate, its key, the CA and this server's address. */
async function writeAdminIdentity(service: AuthService, dataDir: string, addr: string, now: number): Promise<void> {
  const dir = adminIdentityDir(dataDir);
  privateDir(dir, 'admin identity directory');
  const key = generateKeyPair('p256');
  const out = await issueHostCerts({
    hostCa: service.ca('host'),
    tlsCa: service.ca('tls'),
    cluster: service.cluster,
    role: 'admin',
    hostId: (service.deps.ids ?? cryptoIds).uuid(),
    hostName: 'admin',
    tlsPublicKey: key.publicKey.export({ type: 'spki', format: 'pem' }) as string,
    ttlMs: 30 * 86_400_000,
    now,
  });
  writeFileSync(join(dir, 'tls.key'), key.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, {
    mode: 0o600,
  });
  writeFileSync(join(dir, 'tls.crt'), out.tlsCert, { mode: 0o600 });
  writeFileSync(join(dir, 'ca.crt'), pemBundle(service.ca('tls').tlsTrusted), { mode: 0o600 });
  writeFileSync(join(dir, 'auth_servers'), `${addr}\n`, { mode: 0o600 });
}
