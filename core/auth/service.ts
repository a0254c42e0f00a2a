import type { Storage } from 'unstorage';
import type { AuditInput } from '../audit/events.ts';
import type { AuditLog } from '../audit/log.ts';
import type { Backend } from '../backend/index.ts';
import type { Clock } from '../clock.ts';
import { cryptoIds, type IdSource } from '../ids.ts';
import { AccountOps } from './accountOps.ts';
import { AppCertOps } from './appCertOps.ts';
import { AppSessionOps } from './appSessionOps.ts';
import { AppTokenOps } from './appTokenOps.ts';
import { AuditOps } from './auditOps.ts';
import { type Authorizer, createAuthorizer } from './authorizer.ts';
import { BotIdentityOps } from './botIdentityOps.ts';
import { BotInstanceStore } from './botInstances.ts';
import { BotOps, type BotOpsDeps } from './botOps.ts';
import { CaSet } from './caSet.ts';
import type { CaType, LoadedCa, StoredCa } from './cas.ts';
import { CertOps } from './certOps.ts';
import { CiJoinOps } from './ciJoin/ops.ts';
import { JoinMethodStore } from './ciJoin/store.ts';
import { DbCertOps } from './dbCertOps.ts';
import { JoinOps } from './joinOps.ts';
import { Lockout } from './lockout.ts';
import type { LockStore } from './locks.ts';
import type { LoginGuard } from './login.ts';
import type { NodeStore } from './nodes.ts';
import { SeenNodeStore } from './nodesSeen.ts';
import { RecordingOps } from './recordingOps.ts';
import { RenewalOps } from './renewalOps.ts';
import { ResourceOps } from './resourceOps.ts';
import { ResourceRecordOps, ResourceRecordStore } from './resourceRecords.ts';
import { RoleStore } from './roles.ts';
import { RotationOps } from './rotationOps.ts';
import type { SecondFactor } from './secondFactor.ts';
import { SessionOwners } from './sessionOwners.ts';
import type { ConnectorStore } from './sso/connectors.ts';
import { SsoOps } from './ssoOps.ts';
import type { TokenStore } from './tokens.ts';
import { UserOps } from './userOps.ts';
import type { UserStore } from './users.ts';
import { WebauthnCeremonies } from './webauthn.ts';
import { WebSessionOps } from './webSessionOps.ts';

export type { SecondFactor } from './secondFactor.ts';

export interface AuthDeps {
  backend: Backend;
  clock: Clock;
  cluster: string;
  cas: Record<CaType, StoredCa>;
  users: UserStore;
  connectors: ConnectorStore;
  tokens: TokenStore;
  nodes: NodeStore;
  locks: LockStore;
  guard: LoginGuard;
  audit: AuditLog;
  /** Which second factor users enrol at sign-up (those who have one must always use it). */
  secondFactor: SecondFactor;
  /** Base URL of the web UI, for sign-up links. */
  publicUrl: string;
  /** Where session recordings are stored. */
  recordings: Storage;
  /** Whether nodes record sessions. */
  sessionRecording: 'node' | 'off';
  /** Where IDs and secrets come from (default: the platform's cryptographic randomness). */
  ids?: IdSource;
}

/**
 * The Auth service's operations, each authorized against the caller's identity and audited. Transport
 * (the mTLS API) lives in api.ts; storage in the stores.
 */
export class AuthService {
  /** The CAs as loaded for signing and verifying (reload, change listeners). */
  readonly cas: CaSet;
  /** The decision every operation asks first (system grants, locks, roles), auditing refusals. */
  readonly authz: Authorizer;
  readonly users: UserOps;
  readonly certs: CertOps;
  /** Database server certificates (admins) and ephemeral database client certificates (agents). */
  readonly dbCerts: DbCertOps;
  /** App identity tokens (JWTs from the JWT CA) for agents, on behalf of a user. */
  readonly appTokens: AppTokenOps;
  readonly appCerts: AppCertOps;
  readonly resources: ResourceOps;
  /** Plugins' resource records (databases ...), as agents heartbeat them. */
  readonly resourceRecords: ResourceRecordOps;
  readonly audit: AuditOps;
  readonly recordings: RecordingOps;
  readonly rotation: RotationOps;
  readonly renewals: RenewalOps;
  readonly joins: JoinOps;
  readonly account: AccountOps;
  readonly sso: SsoOps;
  readonly webSessions: WebSessionOps;
  readonly appSessions: AppSessionOps;
  readonly bots: BotOps;
  readonly botIdentities: BotIdentityOps;
  readonly ciJoins: CiJoinOps;

  constructor(readonly deps: AuthDeps) {
    const { backend, clock, cluster, users, tokens, nodes, locks, guard, audit, secondFactor } = deps;
    // Read at each use: an all-in-one cluster learns its proxy's address after auth started.
    const publicUrl = () => deps.publicUrl;
    const ids = deps.ids ?? cryptoIds;
    const emit = (e: AuditInput) => audit.emit(e);
    const cas = new CaSet(backend, deps.cas);
    const roles = new RoleStore(backend);
    const authz = createAuthorizer({ roles, locks, emit });
    const webauthn = new WebauthnCeremonies(backend, () => clock.now(), cluster);
    const lockout = new Lockout({ backend, clock, guard, users, locks, emit });
    // Which node ran each session (who may write its recording and events).
    const sessions = new SessionOwners(backend, clock, audit.store);
    const login = { guard, lockout, webauthn };
    const certs = new CertOps({ authz, emit, clock, cluster, cas, roles, users, locks, ids, ...login });
    this.cas = cas;
    this.authz = authz;
    this.certs = certs;

    const userDeps = { authz, emit, clock, ids, cluster, users, roles, locks, secondFactor, publicUrl };
    this.users = new UserOps({ ...userDeps, ...login });
    const records = new ResourceRecordStore(backend);
    this.resources = new ResourceOps({
      ...{ authz, emit, clock, cluster, roles, users, tokens, locks, nodes },
      seen: new SeenNodeStore(backend),
      records,
    });
    this.resourceRecords = new ResourceRecordOps({ authz, emit, clock, records });
    this.dbCerts = new DbCertOps({ authz, emit, clock, cas, roles, locks, resources: records });
    this.appTokens = new AppTokenOps({ emit, clock, cluster, cas, roles, locks, resources: records });
    this.appCerts = new AppCertOps({ emit, clock, cas, roles, locks, resources: records });
    this.audit = new AuditOps({ authz, audit, sessions });
    this.recordings = new RecordingOps({ authz, emit, roles, audit, sessions, blobs: deps.recordings });
    this.rotation = new RotationOps({ authz, emit, backend, clock, cluster, cas, nodes, ids });
    this.renewals = new RenewalOps({ emit, clock, cluster, cas });
    this.joins = new JoinOps({ emit, clock, cluster, cas, tokens, nodes, ids });
    this.account = new AccountOps({ backend, clock, ids, cluster, emit, users, locks, secondFactor, ...login });
    const { connectors } = deps;
    this.sso = new SsoOps({ authz, emit, backend, clock, cluster, roles, connectors, users, locks, certs, ids });
    this.webSessions = new WebSessionOps({ backend, clock, emit });
    this.appSessions = new AppSessionOps({ backend, clock, emit });
    const botDeps: BotOpsDeps = {
      ...{ authz, emit, clock, cluster, users, roles, tokens, locks, ids },
      instances: new BotInstanceStore(backend),
      issue: (...a) => certs.certsFor(...a),
    };
    this.bots = new BotOps(botDeps);
    this.botIdentities = new BotIdentityOps(botDeps);
    const methods = new JoinMethodStore(backend);
    this.ciJoins = new CiJoinOps({ authz, emit, clock, cluster, methods, users, locks, bots: this.botIdentities });
  }

  get cluster(): string {
    return this.deps.cluster;
  }

  get secondFactor(): SecondFactor {
    return this.deps.secondFactor;
  }

  /** The CA of `type` as loaded now (for the auth server's own TLS identity). */
  ca(type: CaType): LoadedCa {
    return this.cas.current(type);
  }
}
