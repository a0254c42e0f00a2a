import * as v from 'valibot';
import { RoleSchema } from '../rbac/schema.ts';
import { BotLockSchema, BotTokenSchema, BotViewSchema, CreatedBotSchema } from './botSchemas.ts';
import type { ApiClient } from './client.ts';
import { type AllowRule, JoinMethodSchema, TokenTestResultSchema } from './joinMethodSchemas.ts';
import { type RotationPhaseSchema, RotationStateSchema, RotationStatusSchema } from './rotationSchemas.ts';
import {
  AckSchema,
  AuditEventSchema,
  type CaTypeSchema,
  CreatedTokenSchema,
  CreatedUserSchema,
  DbServerCertSchema,
  ExportedEventSchema,
  HostCertsSchema,
  type LockTarget,
  LoginResponseSchema,
  NodeRecordSchema,
  PublicCaSchema,
  PublicTokenSchema,
  PublicUserSchema,
  RecordingMetaSchema,
  RecordingSchema,
  StoredLockSchema,
  type TokenRole,
} from './schemas.ts';
import { ConnectorCheckSchema, PublicConnectorSchema } from './ssoSchemas.ts';

const seg = encodeURIComponent;

/** What `tp rotate start` asks for. */
export interface StartRotation {
  types: v.InferOutput<typeof CaTypeSchema>[];
  mode: 'auto' | 'manual';
  graceMs?: number;
  timeoutMs?: number;
}

/**
 * The auth API as typed calls: every answer is checked against the schema the server's own types come from
 * (core/api/schemas.ts), so callers never write a `/v1/...` path or cast an answer.
 */
export class AuthClient {
  constructor(readonly api: ApiClient) {}

  /** The public side of one cluster CA. */
  getCa(type: v.InferOutput<typeof CaTypeSchema>) {
    return this.api.send(PublicCaSchema, 'GET', `/v1/cas/${type}`);
  }

  /** Every registered node (agents and agentless). */
  listNodes() {
    return this.api.send(v.array(NodeRecordSchema), 'GET', '/v1/nodes');
  }
  /** Registers (or replaces) an agentless node; `lastSeen` is the server's to set. */
  upsertNode(node: Omit<v.InferOutput<typeof NodeRecordSchema>, 'lastSeen'>) {
    return this.api.send(v.object({ hostId: v.string(), revision: v.number() }), 'POST', '/v1/nodes', { node });
  }
  /** Removes a node by host ID or (unambiguous) name. */
  async removeNode(idOrName: string): Promise<void> {
    await this.api.send(AckSchema, 'DELETE', `/v1/nodes/${seg(idOrName)}`);
  }

  /** The locks in force. */
  listLocks() {
    return this.api.send(v.array(StoredLockSchema), 'GET', '/v1/locks');
  }
  /** Locks a user or node, until removed or for `ttlMs`. */
  createLock(o: { target: LockTarget; message?: string; ttlMs?: number }) {
    return this.api.send(StoredLockSchema, 'POST', '/v1/locks', o);
  }
  /** Removes a lock by ID. */
  async removeLock(id: string): Promise<void> {
    await this.api.send(AckSchema, 'DELETE', `/v1/locks/${seg(id)}`);
  }

  /** Every role. */
  listRoles() {
    return this.api.send(v.array(RoleSchema), 'GET', '/v1/roles');
  }
  /** One role by name. */
  getRole(name: string) {
    return this.api.send(RoleSchema, 'GET', `/v1/roles/${seg(name)}`);
  }
  /** Creates a role (or replaces one with `force`); the server validates it and answers with its name. */
  putRole(role: unknown, force: boolean) {
    return this.api.send(v.object({ name: v.string() }), 'POST', '/v1/roles', { role, force });
  }
  /** Deletes a role by name. */
  async deleteRole(name: string): Promise<void> {
    await this.api.send(AckSchema, 'DELETE', `/v1/roles/${seg(name)}`);
  }

  /** The join tokens, without their values. */
  listTokens() {
    return this.api.send(v.array(PublicTokenSchema), 'GET', '/v1/tokens');
  }
  /** Makes a join token; its value is in the answer only. */
  createToken(o: { roles: TokenRole[]; uses?: 'single' | 'multi'; ttlMs?: number }) {
    return this.api.send(CreatedTokenSchema, 'POST', '/v1/tokens', o);
  }
  /** Secretless join methods (GitHub Actions, OIDC) for bots. */
  listJoinMethods() {
    return this.api.send(v.array(JoinMethodSchema), 'GET', '/v1/join-methods');
  }
  /** Adds a secretless join method for a bot (`tp tokens add --join-method github|oidc`). */
  addJoinMethod(o: {
    name: string;
    method: 'github' | 'oidc';
    bot: string;
    issuer?: string;
    audience?: string;
    jwks?: string;
    allow: AllowRule[];
  }) {
    return this.api.send(JoinMethodSchema, 'POST', '/v1/join-methods', o);
  }
  /** Deletes a join method by name. */
  async removeJoinMethod(name: string): Promise<void> {
    await this.api.send(AckSchema, 'DELETE', `/v1/join-methods/${seg(name)}`);
  }
  /** How join method `name` judges an ID token (`tp tokens test`). */
  testJoinMethod(name: string, idToken: string) {
    return this.api.send(TokenTestResultSchema, 'POST', `/v1/join-methods/${seg(name)}/test`, { idToken });
  }
  /** Deletes a join token by value or ID. */
  async deleteToken(tokenOrId: string): Promise<void> {
    await this.api.send(AckSchema, 'DELETE', `/v1/tokens/${seg(tokenOrId)}`);
  }

  /** An admin-issued user certificate pair for `username`'s public keys (`tp ca sign --user`). */
  signUser(o: { username: string; sshPublicKey: string; tlsPublicKey: string; ttlMs?: number }) {
    return this.api.send(LoginResponseSchema, 'POST', '/v1/certs/user', o);
  }
  /** A database server's certificate from the db CA for a key made where the database runs (`tp ca sign --db`). */
  signDbServer(o: { hostName: string; tlsPublicKey: string; ttlMs: number }) {
    return this.api.send(DbServerCertSchema, 'POST', '/v1/certs/db', o);
  }
  /** An admin-issued host certificate pair (`tp ca sign --host`). */
  signHost(o: {
    hostName: string;
    principals: string[];
    sshPublicKey: string;
    tlsPublicKey: string;
    ttlMs: number;
    role: 'node' | 'proxy';
  }) {
    return this.api.send(HostCertsSchema, 'POST', '/v1/certs/host', o);
  }

  /** Every user, as the API shows them. */
  listUsers() {
    return this.api.send(v.array(PublicUserSchema), 'GET', '/v1/users');
  }
  /** Makes a user; without a password the answer carries a one-time sign-up link. */
  createUser(o: {
    name: string;
    roles: string[];
    logins?: string[];
    traits?: Record<string, string[]>;
    password?: string;
  }) {
    return this.api.send(CreatedUserSchema, 'POST', '/v1/users', o);
  }
  /** Changes a user's roles and/or traits (each given trait replaces that trait). */
  updateUser(name: string, o: { roles?: string[]; traits?: Record<string, string[]> }) {
    return this.api.send(PublicUserSchema, 'POST', `/v1/users/${seg(name)}`, o);
  }
  /** Deletes a user. */
  async deleteUser(name: string): Promise<void> {
    await this.api.send(AckSchema, 'DELETE', `/v1/users/${seg(name)}`);
  }
  /** Clears a user's password, second factors and lockout; answers with a new sign-up link. */
  resetUser(name: string) {
    return this.api.send(v.object({ signupUrl: v.string() }), 'POST', `/v1/users/${seg(name)}/reset`, {});
  }

  /** Session recordings, newest first, at most `limit`. */
  listRecordings(limit: number) {
    return this.api.send(v.array(RecordingMetaSchema), 'GET', `/v1/recordings?limit=${limit}`);
  }
  /** One recording: its metadata and every output event. */
  getRecording(sessionId: string) {
    return this.api.send(RecordingSchema, 'GET', `/v1/recordings/${seg(sessionId)}`);
  }
  /** Sessions whose output contains `text` (case-insensitive). */
  searchRecordings(text: string) {
    return this.api.send(v.array(RecordingMetaSchema), 'GET', `/v1/recordings/search?q=${seg(text)}`);
  }

  /** Audit events matching `query` (since, until, type, user, session, limit, order). */
  searchEvents(query: URLSearchParams) {
    return this.api.send(v.array(AuditEventSchema), 'GET', `/v1/audit/events?${query}`);
  }

  /**
   * Up to `limit` audit events after `cursor`, in storage order. Each is checked whole but passed on as sent, so
   * an export keeps the server's fields and their order.
   */
  exportEvents(cursor: number, limit: number) {
    const event = v.custom<v.InferOutput<typeof ExportedEventSchema>>(
      (x) => v.is(ExportedEventSchema, x),
      'not an exported audit event',
    );
    return this.api.send(v.array(event), 'GET', `/v1/audit/export?cursor=${cursor}&limit=${limit}`);
  }

  /** Where the CA rotation stands, with each tracked server's progress. */
  rotationStatus() {
    return this.api.send(RotationStatusSchema, 'GET', '/v1/rotation');
  }
  /** Starts a CA rotation. */
  startRotation(o: StartRotation) {
    return this.api.send(RotationStateSchema, 'POST', '/v1/rotation/start', o);
  }
  /** Moves a manual rotation to `phase`; `force` advances even though servers have not caught up. */
  setRotationPhase(phase: v.InferOutput<typeof RotationPhaseSchema>, force = false) {
    return this.api.send(RotationStateSchema, 'POST', '/v1/rotation/phase', force ? { phase, force } : { phase });
  }
  /** Rolls the current rotation back. */
  rollbackRotation() {
    return this.api.send(RotationStateSchema, 'POST', '/v1/rotation/rollback', {});
  }

  /** Every bot with its instances. */
  listBots() {
    return this.api.send(v.array(BotViewSchema), 'GET', '/v1/bots');
  }
  /** Makes a bot (a machine user with fixed roles) and its first single-use join token. */
  addBot(o: {
    name: string;
    roles: string[];
    logins?: string[];
    ttlMs?: number;
    tokenTtlMs?: number;
    rejoinBudget?: number;
  }) {
    return this.api.send(CreatedBotSchema, 'POST', '/v1/bots', o);
  }
  /** Another single-use join token for a bot (each join makes a new instance). */
  newBotToken(name: string, ttlMs?: number) {
    return this.api.send(BotTokenSchema, 'POST', `/v1/bots/${seg(name)}/tokens`, { ttlMs });
  }
  /** Locks every instance of a bot; answers with the lock's ID. */
  lockBot(name: string, message: string) {
    return this.api.send(BotLockSchema, 'POST', `/v1/bots/${seg(name)}/lock`, { message });
  }
  /** Deletes a bot: its instances and tokens go, its live certificates stop. */
  async removeBot(name: string): Promise<void> {
    await this.api.send(AckSchema, 'DELETE', `/v1/bots/${seg(name)}`);
  }

  /** Every SSO connector, without its secret. */
  listConnectors() {
    return this.api.send(v.array(PublicConnectorSchema), 'GET', '/v1/sso/connectors');
  }
  /** Adds an SSO connector (the secret goes in, never comes back). */
  createConnector(c: Record<string, unknown>) {
    return this.api.send(PublicConnectorSchema, 'POST', '/v1/sso/connectors', c);
  }
  /** Removes an SSO connector by name. */
  async removeConnector(name: string): Promise<void> {
    await this.api.send(AckSchema, 'DELETE', `/v1/sso/connectors/${seg(name)}`);
  }
  /** Checks that a connector's provider is reachable; answers with what it said. */
  checkConnector(name: string) {
    return this.api.send(ConnectorCheckSchema, 'GET', `/v1/sso/connectors/${seg(name)}/check`);
  }
}
