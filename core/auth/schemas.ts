import * as v from 'valibot';
import { LinkReportSchema } from '../api/linkSchemas.ts';
import { HeartbeatResourcesSchema } from '../api/resourceSchemas.ts';
import { CaTypeSchema } from '../api/schemas.ts';
import { RoleSchema } from '../rbac/schema.ts';
import { Host, Login, Name, SpkiPem, SshKey, Ttl } from './fieldSchemas.ts';

/** Wire schemas of the auth API's admin and agent request bodies; everything past the edge trusts these types. */

export const CreateUserBody = v.strictObject({
  name: Name,
  roles: v.pipe(v.array(Name), v.minLength(1, 'a user needs at least one role')),
  logins: v.optional(v.array(Login)),
  traits: v.optional(v.record(v.string(), v.array(v.string()))),
  password: v.optional(v.pipe(v.string(), v.maxLength(1024))),
});

/** `POST /v1/users/:name`: new roles and/or traits (each given trait replaces that trait). */
export const UpdateUserBody = v.strictObject({
  roles: v.optional(v.array(Name)),
  traits: v.optional(
    v.pipe(
      v.record(
        v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.-]{1,64}$/, 'trait names are letters, digits, "_", "." or "-"')),
        v.pipe(v.array(v.pipe(v.string(), v.maxLength(255))), v.maxLength(256)),
      ),
      v.check((t) => Object.keys(t).length <= 64, 'at most 64 traits'),
    ),
  ),
});

export const SignUserBody = v.strictObject({
  username: Name,
  sshPublicKey: SshKey,
  tlsPublicKey: SpkiPem,
  ttlMs: v.optional(Ttl),
});

export const SignHostBody = v.strictObject({
  hostName: Host,
  principals: v.optional(v.array(Host)),
  sshPublicKey: v.optional(SshKey),
  tlsPublicKey: SpkiPem,
  ttlMs: Ttl,
  role: v.picklist(['node', 'proxy', 'auth']),
});

/** `tp ca sign --db`: the database server's name (CN and SAN) and its public key. */
export const SignDbServerBody = v.strictObject({ hostName: Host, tlsPublicKey: SpkiPem, ttlMs: Ttl });

/** An agent's request for an ephemeral database client certificate; the CN rule is checked where it is issued. */
export const DbClientCertBody = v.strictObject({
  cert: v.pipe(v.string(), v.maxLength(16_384)),
  db_user: v.pipe(v.string(), v.minLength(1), v.maxLength(63)),
  public_key: SpkiPem,
  db: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(253))),
});

export const AppTokenBody = v.strictObject({
  cert: v.pipe(v.string(), v.maxLength(16_384)),
  /** The app (resource name) the token is for: one the calling agent heartbeats. */
  app: v.pipe(v.string(), v.minLength(1), v.maxLength(63)),
});

/** `POST /v1/apps/cert` (`tp apps login`): the app, the client's key, and where the client reaches the app. */
export const AppCertBody = v.strictObject({
  app: Name,
  tlsPublicKey: SpkiPem,
  publicAddr: v.optional(v.pipe(v.string(), v.maxLength(259))),
  ttlMs: v.optional(Ttl),
});

export const JoinBody = v.strictObject({
  token: v.pipe(v.string(), v.maxLength(256)),
  role: v.picklist(['node', 'proxy']),
  hostName: Host,
  principals: v.optional(v.array(Host)),
  sshPublicKey: v.optional(SshKey),
  tlsPublicKey: SpkiPem,
});

export const PutRoleBody = v.strictObject({ role: RoleSchema, force: v.optional(v.boolean(), false) });

export const CreateTokenBody = v.strictObject({
  roles: v.pipe(v.array(v.picklist(['node', 'proxy'])), v.minLength(1)),
  uses: v.optional(v.picklist(['single', 'multi']), 'single'),
  ttlMs: Ttl,
});

export const CreateLockBody = v.strictObject({
  target: v.strictObject({
    user: v.optional(Name),
    node: v.optional(Host),
    resource: v.optional(
      v.pipe(
        v.string(),
        v.regex(
          /^[a-z][a-z0-9_-]{0,31}\/[a-z0-9][a-z0-9_.-]{0,62}$/,
          'a resource lock names <kind>/<name>, e.g. db/pg1',
        ),
      ),
    ),
  }),
  message: v.optional(v.pipe(v.string(), v.maxLength(1024)), ''),
  ttlMs: v.optional(Ttl),
});

/** A batch from a node's or proxy's spool; which types each may report is decided per event (auditIntake.ts). */
export const EmitAuditBody = v.strictObject({
  events: v.pipe(v.array(v.looseObject({ type: v.pipe(v.string(), v.maxLength(64)) })), v.maxLength(1000)),
});

/** An agent's resource heartbeat: every resource it serves now (core/api/resourceSchemas.ts sets the limits). */
export const ResourceHeartbeatBody = v.strictObject({
  resources: HeartbeatResourcesSchema,
  /** Short: a stale record outlives its agent by at most this. */
  ttlMs: v.pipe(Ttl, v.maxValue(600_000, 'a resource heartbeat lives at most 10 minutes')),
});

export const UpsertNodeBody = v.strictObject({
  node: v.strictObject({
    hostId: Host,
    name: Host,
    addr: v.optional(v.pipe(v.string(), v.regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9_.-]+):\d{1,5}$/, 'addr is host:port'))),
    labels: v.optional(v.record(v.pipe(v.string(), v.maxLength(63)), v.pipe(v.string(), v.maxLength(255))), {}),
    tunnel: v.optional(v.boolean(), false),
    agentless: v.optional(v.boolean()),
    version: v.optional(v.pipe(v.string(), v.maxLength(32))),
    link: v.optional(LinkReportSchema),
  }),
  ttlMs: v.optional(Ttl),
});

const Sid = v.pipe(v.string(), v.regex(/^[0-9a-f-]{36}$/, 'not a session ID'));

export const RecordingMetaBody = v.strictObject({
  meta: v.strictObject({
    sessionId: Sid,
    user: v.pipe(v.string(), v.maxLength(64)),
    login: v.pipe(v.string(), v.maxLength(64)),
    serverId: v.pipe(v.string(), v.maxLength(64)),
    serverName: v.pipe(v.string(), v.maxLength(253)),
    kind: v.picklist(['shell', 'exec', 'desktop']),
    command: v.optional(v.pipe(v.string(), v.maxLength(4096))),
    startedAt: v.pipe(v.string(), v.isoTimestamp()),
    endedAt: v.optional(v.pipe(v.string(), v.isoTimestamp())),
    status: v.picklist(['recording', 'uploading', 'complete', 'interrupted', 'failed']),
    parts: v.pipe(v.number(), v.integer(), v.minValue(0)),
    bytes: v.pipe(v.number(), v.minValue(0)),
    error: v.optional(v.pipe(v.string(), v.maxLength(4096))),
    width: v.optional(v.number()),
    height: v.optional(v.number()),
  }),
});

export const RecordingPartBody = v.strictObject({ data: v.pipe(v.string(), v.maxLength(700_000)) });

const Phase = v.picklist(['standby', 'init', 'update_clients', 'update_servers', 'rollback']);

export const RotationStartBody = v.strictObject({
  types: v.pipe(v.array(CaTypeSchema), v.minLength(1)),
  mode: v.picklist(['auto', 'manual']),
  graceMs: v.pipe(v.number(), v.integer(), v.minValue(0)),
  timeoutMs: v.pipe(v.number(), v.integer(), v.minValue(1000)),
});

export const RotationPhaseBody = v.strictObject({ phase: Phase, force: v.optional(v.boolean()) });

export const RotationReportBody = v.strictObject({
  rotationId: v.pipe(v.string(), v.maxLength(64)),
  phase: Phase,
  name: Host,
});

export const ReissueBody = v.strictObject({
  sshCert: v.optional(v.pipe(v.string(), v.maxLength(16_384))),
  tlsPublicKey: SpkiPem,
});
