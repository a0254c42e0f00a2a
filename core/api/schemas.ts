import * as v from 'valibot';
import { LinkReportSchema } from './linkSchemas.ts';

/**
 * Wire schemas of the auth API's answers, shared by the server (what it promises) and every client (what it
 * parses). This module imports nothing but valibot, so the browser build can use it too.
 */

/** The cluster CAs (core/auth/cas.ts says what each signs). */
export const CaTypeSchema = v.picklist(['user', 'host', 'tls', 'db', 'db_client', 'jwt']);

/** The public side of a CA, safe to hand to anyone (`GET /v1/cas/:type`). */
export const PublicCaSchema = v.object({
  type: CaTypeSchema,
  cluster: v.string(),
  /** SSH CAs: authorized_keys lines (active first). */
  sshKeys: v.array(v.string()),
  /** X.509 CAs (tls, db, db_client): PEM certificates (active first). */
  tlsCerts: v.array(v.string()),
});
export type PublicCa = v.InferOutput<typeof PublicCaSchema>;

/** A registered SSH node (`GET /v1/nodes`): agents heartbeat theirs; agentless OpenSSH nodes are added by an admin. */
export const NodeRecordSchema = v.object({
  hostId: v.string(),
  name: v.string(),
  /** Where the proxy dials it (direct mode and agentless); absent for tunnel-only agents. */
  addr: v.optional(v.string()),
  labels: v.record(v.string(), v.string()),
  /** Reachable through a reverse tunnel held by the proxy. */
  tunnel: v.boolean(),
  agentless: v.optional(v.boolean()),
  version: v.optional(v.string()),
  lastSeen: v.string(),
  /** The agent's link as it last reported it (degraded and why, its last outage). */
  link: v.optional(LinkReportSchema),
});
export type NodeRecord = v.InferOutput<typeof NodeRecordSchema>;

/**
 * Who a lock stops: a user, a node (by name or host ID), one bot instance (a copied bot identity), or a plugin's
 * resource as `<kind>/<name>` (`db/pg1`).
 */
export const LockTargetSchema = v.object({
  user: v.optional(v.string()),
  node: v.optional(v.string()),
  botInstance: v.optional(v.string()),
  resource: v.optional(v.string()),
});
export type LockTarget = v.InferOutput<typeof LockTargetSchema>;

/** A lock (`GET /v1/locks`); it lapses on its own when `expires` (epoch ms) passes. */
export const StoredLockSchema = v.object({
  id: v.string(),
  target: LockTargetSchema,
  message: v.string(),
  createdAt: v.string(),
  createdBy: v.string(),
  expires: v.optional(v.number()),
});
export type StoredLock = v.InferOutput<typeof StoredLockSchema>;

/** What a join token lets its holder join as. */
export const TokenRoleSchema = v.picklist(['node', 'proxy', 'bot']);
export type TokenRole = v.InferOutput<typeof TokenRoleSchema>;

/** A join token as listed (`GET /v1/tokens`): never its value or hash. */
export const PublicTokenSchema = v.object({
  /** Short public ID (first 12 hex digits of the hash), for `ls` and `rm`. */
  id: v.string(),
  roles: v.array(TokenRoleSchema),
  uses: v.picklist(['single', 'multi']),
  usedBy: v.array(v.string()),
  createdAt: v.string(),
  expires: v.number(),
  /** The bot a `bot` token joins as (`tp bots add`). */
  bot: v.optional(v.string()),
});
export type PublicToken = v.InferOutput<typeof PublicTokenSchema>;

/** A join token as stored: keyed by its hash, so reading the backend never reveals a usable token. */
export const StoredTokenSchema = v.object({ ...PublicTokenSchema.entries, hash: v.string() });
export type StoredToken = v.InferOutput<typeof StoredTokenSchema>;

/** The answer of `POST /v1/tokens`: the secret value, shown once, and the stored record. */
export const CreatedTokenSchema = v.object({ token: v.string(), record: StoredTokenSchema });

/** An answer that carries nothing (deletes, acknowledgements): whatever the server sends is ignored. */
export const AckSchema = v.unknown();

/** What the API shows of a user (`GET /v1/users`): never a password hash or second-factor secret. */
export const PublicUserSchema = v.object({
  name: v.string(),
  roles: v.array(v.string()),
  traits: v.record(v.string(), v.array(v.string())),
  createdAt: v.string(),
  hasPassword: v.boolean(),
  hasTotp: v.boolean(),
  /** Names of the user's security keys. */
  webauthn: v.array(v.string()),
  sso: v.optional(v.string()),
  ssoSubject: v.optional(v.object({ issuer: v.string(), subject: v.string() })),
  lockedUntil: v.optional(v.string()),
  bot: v.optional(v.literal(true)),
});
export type PublicUser = v.InferOutput<typeof PublicUserSchema>;

/** `POST /v1/users`: the user made, and how they finish sign-up (a one-time link, or the TOTP URI to enrol). */
export const CreatedUserSchema = v.object({
  user: PublicUserSchema,
  signupUrl: v.optional(v.string()),
  totpUri: v.optional(v.string()),
});

/** Where a session recording stands. */
export const RecordingStatusSchema = v.picklist(['recording', 'uploading', 'complete', 'interrupted', 'failed']);
export type RecordingStatus = v.InferOutput<typeof RecordingStatusSchema>;

/** A session recording's metadata (`GET /v1/recordings`). */
export const RecordingMetaSchema = v.object({
  sessionId: v.string(),
  user: v.string(),
  login: v.string(),
  serverId: v.string(),
  serverName: v.string(),
  /** `desktop`: a desktop session (serverName is the desktop, login its desktop login, events 'r'). */
  kind: v.picklist(['shell', 'exec', 'desktop']),
  command: v.optional(v.string()),
  startedAt: v.string(),
  endedAt: v.optional(v.string()),
  status: RecordingStatusSchema,
  parts: v.number(),
  bytes: v.number(),
  error: v.optional(v.string()),
  width: v.optional(v.number()),
  height: v.optional(v.number()),
});
export type RecordingMeta = v.InferOutput<typeof RecordingMetaSchema>;

/** A host's join (`POST /v1/join`, and `/webapi/join` through the proxy): its certificates and the CAs to pin. */
export const JoinAnswerSchema = v.object({
  hostId: v.string(),
  cluster: v.string(),
  /** Absent when the join sent no SSH public key. */
  sshCert: v.optional(v.string()),
  tlsCert: v.string(),
  userCa: v.array(v.string()),
  hostCa: v.array(v.string()),
  tlsCa: v.array(v.string()),
});
export type JoinAnswer = v.InferOutput<typeof JoinAnswerSchema>;

/** Everything a client needs after login (`POST /v1/login`, `/v1/certs/user`): its certs and the CAs to trust. */
export const LoginResponseSchema = v.object({
  /** OpenSSH `*-cert.pub` line. */
  sshCert: v.string(),
  /** PEM X.509 client certificate. */
  tlsCert: v.string(),
  logins: v.array(v.string()),
  ttlMs: v.number(),
  expires: v.string(),
  cluster: v.string(),
  username: v.string(),
  hostCa: v.array(v.string()),
  tlsCa: v.array(v.string()),
});
export type LoginResponse = v.InferOutput<typeof LoginResponseSchema>;

/** `POST /v1/certs/host` for an SSH and a TLS public key: an admin-issued host certificate pair. */
export const HostCertsSchema = v.object({ hostId: v.string(), sshCert: v.string(), tlsCert: v.string() });

/** `POST /v1/certs/db` (`tp ca sign --db`): a database server's certificate and the CAs to configure around it. */
export const DbServerCertSchema = v.object({
  /** PEM, signed by the db CA. */
  cert: v.string(),
  /** The db_client CA certificates (PEM): what the database trusts for client certificates (ssl_ca_file / ssl-ca). */
  clientCa: v.array(v.string()),
  /** The db CA certificates (PEM) that agents verify the server against. */
  dbCa: v.array(v.string()),
  expires: v.string(),
});
export type DbServerCert = v.InferOutput<typeof DbServerCertSchema>;

/** `POST /v1/db/cert`: an ephemeral client certificate for an agent to present to a database. */
export const DbClientCertSchema = v.object({
  /** PEM, subject exactly CN=<db user>, signed by the db_client CA. */
  cert: v.string(),
  /** The db CA certificates (PEM) to verify the database server against (old and new during a rotation). */
  ca: v.array(v.string()),
  expires: v.string(),
});
export type DbClientCert = v.InferOutput<typeof DbClientCertSchema>;

/** `POST /v1/apps/token`: an app identity token (`tp-jwt-assertion`) for an agent to send to a web app. */
export const AppTokenSchema = v.object({
  /** A JWT (ES256) signed by the JWT CA. */
  token: v.string(),
  /** ISO time the token expires: never after the user's certificate. */
  expires: v.string(),
});
export type AppToken = v.InferOutput<typeof AppTokenSchema>;

/** `POST /v1/apps/cert`: an app certificate (`tp apps login`), good on the app's public address only. */
export const AppCertSchema = v.object({
  /** PEM, from the cluster's TLS CA, with the app's route in tp's identity extension. */
  cert: v.string(),
  /** The cluster's TLS CA certificates (PEM): what the proxy's certificate on the app host is signed by. */
  ca: v.array(v.string()),
  app: v.string(),
  /** The host (and port, when it names one) the app is served on. */
  publicAddr: v.string(),
  /** ISO time it expires: never after the certificate it was asked with. */
  expires: v.string(),
});
export type AppCert = v.InferOutput<typeof AppCertSchema>;

/** One public key of the JWT CA as the proxy publishes it (`GET /.well-known/jwks.json`). */
export const JwkSchema = v.looseObject({ kty: v.string(), kid: v.string(), alg: v.string(), use: v.string() });
/** `GET /.well-known/jwks.json`: the JWT CA's trusted public keys (active first). */
export const JwksSchema = v.object({ keys: v.array(JwkSchema) });

/** One recorded output chunk: ms since the session start, then stdout ('o') or stderr ('e') text, or RFB bytes in base64 ('r'). */
export const RecordedEventSchema = v.tuple([v.number(), v.picklist(['o', 'e', 'r']), v.string()]);

/** `GET /v1/recordings/:session`: a recording's metadata and every event in order. */
export const RecordingSchema = v.object({ meta: RecordingMetaSchema, events: v.array(RecordedEventSchema) });

/** One audit event (`GET /v1/audit/events`): the fields every event has, and its event-specific fields as sent. */
export const AuditEventSchema = v.looseObject({
  /** Unique, time-ordered ID. */
  id: v.string(),
  type: v.string(),
  code: v.string(),
  /** ISO 8601 time. */
  time: v.string(),
  cluster: v.string(),
  success: v.boolean(),
  /** Who acted (user name, or the host ID of a node/proxy). */
  user: v.optional(v.string()),
  /** Why it failed, for failures. */
  error: v.optional(v.string()),
});
export type WireAuditEvent = v.InferOutput<typeof AuditEventSchema>;

/** One event of `GET /v1/audit/export`: an audit event with its storage cursor (resume after it). */
export const ExportedEventSchema = v.looseObject({ ...AuditEventSchema.entries, cursor: v.number() });

/** Who a certificate names, as auth hands it back inside a stored web session. */
export const IdentitySchema = v.object({
  kind: v.picklist(['admin', 'proxy', 'node', 'auth', 'user', 'app', 'anonymous']),
  name: v.string(),
  roles: v.array(v.string()),
  traits: v.optional(v.record(v.string(), v.array(v.string()))),
  hostName: v.optional(v.string()),
  bot: v.optional(v.object({ name: v.string(), instance: v.string(), generation: v.number() })),
  app: v.optional(v.object({ app: v.string(), publicAddr: v.string() })),
  expires: v.optional(v.number()),
});

/** `GET /v1/web_sessions/:hash` (proxies only): a browser's login with its certificates and private key. */
export const StoredWebSessionSchema = v.object({
  user: v.string(),
  who: IdentitySchema,
  logins: v.array(v.string()),
  csrf: v.string(),
  createdAt: v.number(),
  expires: v.number(),
  sshKey: v.string(),
  sshCert: v.string(),
  tlsCertDer: v.string(),
});
