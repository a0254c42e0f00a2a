import * as v from 'valibot';
import { LinkReportSchema } from '../api/linkSchemas.ts';
import { HeartbeatResourcesSchema } from '../api/resourceSchemas.ts';
import { CaTypeSchema } from '../api/schemas.ts';
import { RoleSchema } from '../rbac/schema.ts';

/** Wire schemas of the auth API request bodies; everything past the edge trusts these types. */
export const Name = v.pipe(
  v.string(),
  v.regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, 'names are lowercase letters, digits, - _ .'),
);
export const Ttl = v.pipe(
  v.number(),
  v.integer(),
  v.minValue(1000, 'ttl must be at least 1s'),
  v.maxValue(366 * 86_400_000, 'ttl too long'),
);
export const Login = v.pipe(
  v.string(),
  v.regex(/^[a-z_][a-z0-9_.-]{0,31}\$?$|^\{\{\s*(internal|external)\.[A-Za-z0-9_.-]+\s*\}\}$/i, 'not a valid login'),
);
export const SshKey = v.pipe(
  v.string(),
  v.maxLength(8192),
  v.regex(
    /^(ssh-ed25519|ecdsa-sha2-nistp256) [A-Za-z0-9+/=]+( .*)?$/,
    'not an ed25519 or ecdsa P-256 OpenSSH public key',
  ),
);
export const SpkiPem = v.pipe(
  v.string(),
  v.maxLength(8192),
  v.regex(/^-----BEGIN PUBLIC KEY-----[\s\S]+-----END PUBLIC KEY-----\s*$/, 'not a PEM public key'),
);
const Host = v.pipe(
  v.string(),
  v.minLength(1),
  v.maxLength(253),
  v.regex(/^[A-Za-z0-9_.:-]+$/, 'not a host name or address'),
);

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

const Otp = v.pipe(v.string(), v.regex(/^\d{6}$/, 'the second-factor code has 6 digits'));
const Origin = v.pipe(v.string(), v.maxLength(300));
/** A WebAuthn response as @simplewebauthn/browser sends it; its library verifies the inside. */
const WebauthnResponse = v.looseObject({ id: v.pipe(v.string(), v.maxLength(1024)), type: v.string() });
const SignupToken = v.pipe(v.string(), v.maxLength(256));

export const SignupBody = v.strictObject({
  token: SignupToken,
  password: v.pipe(v.string(), v.maxLength(1024)),
  otp: v.optional(Otp),
  webauthn: v.optional(WebauthnResponse),
  deviceName: v.optional(v.pipe(v.string(), v.maxLength(64))),
  origin: v.optional(Origin),
});

export const SignupTokenBody = v.strictObject({ token: SignupToken, origin: v.optional(Origin) });

export const LoginChallengeBody = v.strictObject({
  username: v.pipe(v.string(), v.maxLength(64)),
  password: v.pipe(v.string(), v.maxLength(1024)),
  origin: Origin,
  remoteAddr: v.optional(v.pipe(v.string(), v.maxLength(128))),
});

/** A fresh factor confirming an account change: a current code, a security-key assertion, or the password. */
const FreshProof = v.strictObject({
  otp: v.optional(Otp),
  webauthn: v.optional(WebauthnResponse),
  password: v.optional(v.pipe(v.string(), v.maxLength(1024))),
});
export const ChangePasswordBody = v.strictObject({
  oldPassword: v.pipe(v.string(), v.maxLength(1024)),
  newPassword: v.pipe(v.string(), v.maxLength(1024)),
  proof: v.optional(FreshProof),
  origin: Origin,
});

export const WebauthnBeginBody = v.strictObject({ origin: Origin });
export const WebauthnFinishBody = v.strictObject({
  response: WebauthnResponse,
  name: v.optional(v.pipe(v.string(), v.maxLength(64)), ''),
  origin: Origin,
  proof: v.optional(FreshProof),
});
export const TotpFinishBody = v.strictObject({
  otp: Otp,
  name: v.optional(v.pipe(v.string(), v.maxLength(64))),
  origin: Origin,
  proof: v.optional(FreshProof),
});
export const RemoveDeviceBody = v.strictObject({
  id: v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{1,1024}$/, 'not a device ID')),
  origin: Origin,
  proof: v.optional(FreshProof),
});

const Url = v.pipe(v.string(), v.maxLength(2048), v.url('not a URL'));
const Roles = v.pipe(v.array(Name), v.minLength(1));
export const SsoConnectorBody = v.variant('kind', [
  v.strictObject({
    kind: v.literal('github'),
    name: Name,
    clientId: v.pipe(v.string(), v.minLength(1), v.maxLength(256)),
    clientSecret: v.pipe(v.string(), v.minLength(1), v.maxLength(1024)),
    endpointUrl: Url,
    apiUrl: Url,
    teamsToRoles: v.pipe(
      v.array(
        v.strictObject({
          org: v.pipe(v.string(), v.maxLength(100)),
          team: v.pipe(v.string(), v.maxLength(100)),
          roles: Roles,
        }),
      ),
      v.minLength(1, 'map at least one team to a role'),
    ),
  }),
  v.strictObject({
    kind: v.literal('oidc'),
    name: Name,
    clientId: v.pipe(v.string(), v.minLength(1), v.maxLength(256)),
    clientSecret: v.pipe(v.string(), v.minLength(1), v.maxLength(1024)),
    issuer: Url,
    scopes: v.optional(v.array(v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.:-]+$/))), ['email', 'profile']),
    usernameClaim: v.optional(v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.:-]{1,100}$/, 'not a claim name'))),
    claimsToRoles: v.pipe(
      v.array(
        v.strictObject({
          claim: v.pipe(v.string(), v.maxLength(100)),
          value: v.pipe(v.string(), v.maxLength(256)),
          roles: Roles,
        }),
      ),
      v.minLength(1, 'map at least one claim to a role'),
    ),
  }),
]);

export const WebSessionBody = v.strictObject({
  user: Name,
  who: v.looseObject({ kind: v.literal('user'), name: Name, roles: v.array(v.string()) }),
  logins: v.array(v.string()),
  csrf: v.pipe(v.string(), v.maxLength(128)),
  createdAt: v.number(),
  expires: v.number(),
  sshKey: v.pipe(v.string(), v.maxLength(16384)),
  sshCert: v.pipe(v.string(), v.maxLength(16384)),
  tlsCertDer: v.pipe(v.string(), v.maxLength(16384)),
});

const Hex64 = v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/, 'a SHA-256 hex digest'));
export const SsoBeginBody = v.strictObject({
  connector: Name,
  mode: v.picklist(['cli', 'web', 'test']),
  redirectUri: Url,
  sshPublicKey: v.optional(SshKey),
  tlsPublicKey: v.optional(SpkiPem),
  ttlMs: v.optional(Ttl),
  clientRedirect: v.optional(Url),
  clientKey: v.optional(v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{43}$/, 'an X25519 public key (base64url)'))),
  bindingHash: v.optional(Hex64),
  webKey: v.optional(v.pipe(v.string(), v.maxLength(16384))),
});
export const SsoCallbackBody = v.strictObject({
  state: v.pipe(v.string(), v.maxLength(256)),
  code: v.optional(v.pipe(v.string(), v.maxLength(2048))),
  error: v.optional(v.pipe(v.string(), v.maxLength(256))),
  errorDescription: v.optional(v.pipe(v.string(), v.maxLength(1024))),
  binding: v.optional(v.pipe(v.string(), v.maxLength(256))),
});
export const SsoConfirmBody = v.strictObject({
  id: v.pipe(v.string(), v.maxLength(64)),
  token: v.pipe(v.string(), v.maxLength(256)),
});

export const LoginBody = v.strictObject({
  username: v.pipe(v.string(), v.maxLength(64)),
  password: v.pipe(v.string(), v.maxLength(1024)),
  otp: v.optional(Otp),
  webauthn: v.optional(WebauthnResponse),
  origin: v.optional(Origin),
  sshPublicKey: SshKey,
  tlsPublicKey: SpkiPem,
  ttlMs: v.optional(Ttl),
  remoteAddr: v.optional(v.pipe(v.string(), v.maxLength(128))),
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
