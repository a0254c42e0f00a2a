// The plugin contract: what a protocol plugin (SSH, databases, kube, apps, desktops) gives the proxy, the agent and
// the CLI. DESIGN.md "Plugins" fixes the shape; core code never names a protocol, it asks the registry.
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type * as v from 'valibot';
import type { AuditInput } from '../audit/events.ts';
import type { Identity } from '../auth/identity.ts';
import type { StoredLock } from '../auth/locks.ts';
import type { Clock } from '../clock.ts';
import type { TpError } from '../errors.ts';
import type { HostIdentity } from '../identity/hostIdentity.ts';
import type { IdSource } from '../ids.ts';
import type { Role, Traits } from '../rbac/index.ts';
import type { KindPolicy } from '../rbac/kindPolicy.ts';

/** A resource as every listing, the cluster state and RBAC see it: generic, with the protocol's details in `spec`. */
export interface ResourceRecord {
  /** The resource kind (`node`, `db`, `kube`, `app`, `desktop`): RBAC and listings are by kind. */
  kind: string;
  /** Unique within its kind. */
  name: string;
  labels: Record<string, string>;
  /** The plugin that serves it (`db-postgres`): the proxy opens streams to it under this name. */
  plugin: string;
  /** The host ID of the agent that serves it. */
  hostId: string;
  /** Protocol details anyone allowed to see the resource may read (protocol, address). Never secrets. */
  spec: Record<string, unknown>;
  /** ISO time of the last heartbeat. */
  lastSeen: string;
}

/** What an agent plugin heartbeats: one resource it serves (the core adds kind, plugin, hostId and lastSeen). */
export interface ResourceSpec {
  name: string;
  labels: Record<string, string>;
  spec: Record<string, unknown>;
}

/** The end user on a stream, as the agent verified it from the user's own certificate (not from the proxy's word). */
export interface VerifiedUser {
  name: string;
  roles: string[];
  traits: Traits;
  /** When the user's certificate expires (epoch ms): the session ends then. */
  expires: number;
  /** The certificate (base64 DER), for plugins that ask auth for a derived short-lived credential. */
  certDer: string;
  /** Set for a bot's certificate: its instance (locks may name it). */
  botInstance?: string;
}

/** One authenticated stream handed to an agent plugin. */
export interface PluginSession {
  /** Unique ID of this session (audit `session_id`): the one the proxy chose for it, when it chose one. */
  id: string;
  /** Absent only for `endToEnd` plugins (SSH), whose protocol authenticates the user inside the stream. */
  user?: VerifiedUser;
  /** The resource asked for (one this agent heartbeats). */
  resource: string;
  /** Protocol-specific route fields the client sent and the proxy passed on (db user, db name ...). Untrusted. */
  route: Record<string, string>;
  /** The end user's address, for audit. */
  client: string;
  /** Aborted when the user's certificate expires, a lock on the user or resource lands, or the agent stops. */
  signal: AbortSignal;
}

/** What the agent gives every plugin it runs. */
export interface AgentPluginContext {
  hostId: string;
  /** The agent's node name. */
  nodeName: string;
  cluster: string;
  clock: Clock;
  ids: IdSource;
  /** Audit events, through the agent's spool (nothing lost while auth is away). */
  emit(events: AuditInput[]): void;
  /** The agent's node labels (static and command labels), read when needed. */
  labels(): Record<string, string>;
  /**
   * The watched cluster state: current roles, locks and the SSH user CA keys, and a callback on each change (the
   * kinds that changed: `role`, `lock`, `ca` ...).
   */
  state: {
    roles(): Role[];
    locks(): StoredLock[];
    userCas(): Buffer[];
    onChange(fn: (kinds: ReadonlySet<string>) => void): void;
  };
  /** The agent's host identity now, and a callback when a CA rotation renews it. */
  identity(): HostIdentity;
  onIdentity(fn: (id: HostIdentity) => void): void;
  /** Session recording: the agent's spool, the cluster's mode, and who to tell when a part is on disk. */
  recording: { dir: string; mode: () => 'node' | 'off'; onPart: () => void };
  /**
   * Calls auth through the agent's identity (for example to sign an ephemeral database client certificate); the
   * answer is what `parse` makes of it (it throws on an answer it does not expect), never a cast.
   */
  call<T>(method: 'GET' | 'POST', path: string, body: unknown, parse: (json: unknown) => T): Promise<T>;
  /** The agent's data directory (the plugin's own files go in a subdirectory named after it). */
  dataDir: string;
}

/** A plugin's running agent side. */
export interface AgentPlugin {
  /** The resources to heartbeat now (called on every heartbeat). */
  resources(): ResourceSpec[];
  /**
   * Judges what the session's route asks for before the agent acks the stream (the db user and database the client
   * named): a TpError thrown here is the stream's `{ok:false}` ack, so the client gets it typed. The protocol is
   * checked again in `serve` (the route is the client's word).
   */
  admit?(session: PluginSession): void;
  /**
   * Serves one authenticated stream until it ends; the core closes the stream when the returned promise settles.
   * The stream arrives flowing (after the ack): a plugin that awaits anything before it reads must `pause()` it
   * first, or the client's first bytes are lost (ssh and kube do).
   */
  serve(stream: Duplex, session: PluginSession): Promise<void>;
  close(): Promise<void>;
}

/** What a client asked for on a plugin's ALPN id, once the proxy has read it. */
export interface ProxyRoute {
  /** The resource the user named. */
  target: string;
  /** The principal wanted there (db user, kube user ...), when the client says it up front. */
  principal?: string;
  /** Other protocol fields passed to the agent as `PluginSession.route`. */
  route: Record<string, string>;
}

/** Who asks to get through: as their certificate states them. */
export interface Requester {
  name: string;
  roles: string[];
  traits?: Traits;
  /** For a bot's certificate: its instance (a lock may stop that instance alone). */
  bot?: { instance: string };
}

/** One request to reach a resource, from any path of the proxy (relay, web terminal, jump port, a plugin). */
export interface AccessRequest {
  /** The resource kind: `node` (SSH); plugins register theirs (`db`, `kube`, `app`, `desktop`). */
  kind: string;
  who: Requester;
  /** What the user named (a node's name, host ID or address; a database's name ...). */
  target: string;
  /**
   * The principal wanted there (SSH login, database user ...). Absent when the path cannot see it (the jump port
   * carries an end-to-end SSH session): then the gate checks what it can and the resource checks the rest.
   */
  principal?: string;
  /** Which path asks, for the audit: `relay`, `web`, `jump`, or a plugin's name. */
  via: string;
  /** The client's address, for the audit. */
  remote: string;
}

/** The proxy's one access gate (`core/proxy/accessGate.ts`): resolve, locks, roles, audited refusals. */
export interface ResourceGate {
  /** Returns the resource if the request may reach it; otherwise audits the refusal and throws it. */
  authorize<R>(req: AccessRequest): Promise<R>;
  /** Audits a request that failed on its way to the resource (once per error). */
  refused(req: AccessRequest, err: unknown): void;
}

/** Where an agent (or an agentless node) is: its host ID, its name for errors, and a direct address if it has one. */
export interface DialTarget {
  hostId: string;
  name: string;
  /** What `name` names, in errors (`db "pg1" ... is offline`). Default `node`. */
  kind?: string;
  addr?: string;
  /** An agentless node: plain TCP to `addr`, no agent and no stream header. */
  agentless?: boolean;
}

/** What the proxy gives a plugin that handles its connections itself. */
export interface ProxyPluginContext {
  /** Who the connection's verified client certificate names (kind `anonymous` without one). */
  who: Identity;
  /** Why TLS did not accept the certificate the client offered, when it offered one. */
  certError?: string;
  /** How long the client has to say what it wants (ms). */
  headerTimeoutMs: number;
  gate: ResourceGate;
  /** The cluster's current public CAs (clients refresh their trust from them), and the resources agents heartbeat. */
  view: {
    cas(): Promise<{ hostCa: string[]; tlsCa: string[] }>;
    resources(kind: string): Promise<ResourceRecord[]>;
  };
  /** The proxy's public address (`host:port`), for links back to the web UI. */
  publicAddr: string;
  /** Calls auth as the proxy; the answer is what `parse` makes of it (it throws on an answer it does not expect). */
  call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body: unknown, parse: (json: unknown) => T): Promise<T>;
  /** Audit events, through the proxy's spool. */
  emit(events: AuditInput[]): void;
  /**
   * Opens a stream to this plugin on the agent serving `to` (a resource, or a node's host ID and address): its
   * tunnel or its direct address, header written with `service` set to the plugin's name. For plugins that are not
   * end to end it resolves only once the agent accepted the stream (its `{ok:true}` line), and rejects with the
   * agent's refusal as a typed error (`Unauthenticated`, `Locked`, `NotFound` ...).
   */
  dial(
    to: ResourceRecord | DialTarget,
    header: {
      resource?: string;
      route?: Record<string, string>;
      cert?: string;
      client: string;
      sessionId?: string;
      user?: string;
    },
  ): Promise<Duplex>;
}

/** The proxy's own names, for plugins that claim server names under them. */
export interface ProxyNames {
  /** The tp cluster's name. */
  cluster: string;
  /** The host part of the proxy's public address (`tp.example.com`). */
  publicHost: string;
  /** The resources of `kind` this proxy holds now (app hosts named by a resource's own `public_addr`). */
  resources?(kind: string): ResourceRecord[];
}

/** A plugin's proxy side: how it reads a route from a fresh connection. */
export interface ProxyPlugin {
  /**
   * Takes over a connection entirely (SSH's relay answers with host keys and CAs). When absent, the core reads the
   * route with `accept`, asks the gate, dials the agent and pipes bytes both ways.
   */
  handle?(socket: TLSSocket, ctx: ProxyPluginContext): Promise<void>;
  /**
   * Reads what the client asks for from a TLS connection on one of the plugin's ALPN ids (SNI, a header line ...).
   * Absent: the default framing (one JSON line `{v:1, target, principal?, route?}`, answered `{ok}` or an error).
   */
  accept?(socket: TLSSocket): Promise<ProxyRoute>;
  /**
   * Tells the client why its connection was refused, in the protocol's own terms (kube: an HTTP 403 or 401 whose
   * text kubectl prints), for plugins with `accept` (the default framing answers with its JSON line). The core ends
   * the socket after it.
   */
  refuse?(socket: TLSSocket, err: TpError): void;
}

/** How RBAC judges a resource of this plugin's kind (defined with RBAC, which plugins sit above). */
export type { KindPolicy } from '../rbac/kindPolicy.ts';

// A plugin's client side (`tp <kind> connect|env`, `tp proxy <kind> --tunnel`) lives in clientTypes.ts.
export type { LocalEndpoint, PluginClient } from './clientTypes.ts';

import type { PluginClient } from './clientTypes.ts';

/** A protocol plugin: one object per plugin folder, made by `definePlugin`. */
export interface PluginDefinition<C = unknown> {
  /** Unique name (`db-postgres`); the tunnel names the plugin of a stream by it. */
  name: string;
  /** Resource kind it serves (`db`); several plugins may share one kind. */
  kind: string;
  /** ALPN ids it answers on the proxy's TLS port; unique across plugins. */
  alpn: string[];
  /**
   * TLS server names it owns on the proxy's port, for clients that offer no tp ALPN id (kubectl, browsers): an
   * `http/1.1` (or ALPN-less) connection whose SNI this says yes to goes to the plugin (`proxy.handle`, else the
   * generic path with `proxy.accept`), not the web UI. The proxy never negotiates h2.
   */
  sni?(serverName: string, proxy: ProxyNames): boolean;
  /** The protocol authenticates the user end to end inside the stream (SSH): streams carry no user certificate. */
  endToEnd?: boolean;
  /** One entry of the tp.yaml section this plugin reads (validated at start-up). */
  config?: v.GenericSchema<unknown, C>;
  /**
   * The tp.yaml section holding this plugin's entries: top-level `key` (the kind's, e.g. `db`) with `enabled` and the
   * list `list` (`databases`). Plugins of one kind share it; absent, the plugin runs on every agent with no entries.
   */
  section?: { key: string; list: string };
  /** Which entries of the kind's tp.yaml section are this plugin's (for example `protocol: postgres`). */
  claims?(entry: C): boolean;
  /**
   * A repeatable `tp agent start --<name> VALUE` that adds one entry without a file (`--db pg1=postgres://...`):
   * `parse` turns VALUE into a raw entry of the section (validated like the file's), or undefined when VALUE is for
   * another plugin declaring the same flag (`--db pg1=postgres://...` and `--db m1=mysql://...`).
   */
  flag?: { name: string; description: string; parse(value: string): unknown };
  policy?: KindPolicy;
  /** The agent side, for the entries it claims. */
  agent?(ctx: AgentPluginContext, entries: C[]): Promise<AgentPlugin> | AgentPlugin;
  proxy?: ProxyPlugin;
  /** The client side (`client.ts`) that `tp <kind> ...` commands use, loaded only when one runs. */
  commands?: () => Promise<{ default: PluginClient }>;
}
