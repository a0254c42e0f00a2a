import type { Duplex } from 'node:stream';
import { accessRefusal } from '../audit/accessRefusal.ts';
import { lockedError } from '../auth/locks.ts';
import { describe, NotFound, TpError, Unauthenticated } from '../errors.ts';
import { log } from '../log.ts';
import type { PluginRegistry } from '../plugin/registry.ts';
import type {
  AgentPlugin,
  AgentPluginContext,
  PluginDefinition,
  PluginSession,
  VerifiedUser,
} from '../plugin/types.ts';
import { lockApplies } from '../rbac/index.ts';
import {
  type AgentAck,
  type AgentStreamHeader,
  AgentStreamHeaderSchema,
  readHeader,
  writeHeader,
} from '../tunnel/header.ts';
import type { HeartbeatResource } from './heartbeat.ts';
import { verifyStreamUser } from './streamUser.ts';

/** A stream header may carry the user's certificate (a few KiB) besides the route. */
const HEADER_LIMIT = 32 * 1024;
/** How long a plugin has to end its protocol session after its signal aborted, before the core cuts the stream. */
const ABORT_GRACE_MS = 2_000;

/** One stream being served, with what ends it early. */
interface LiveSession {
  plugin: PluginDefinition<never>;
  user?: VerifiedUser;
  resource: string;
  controller: AbortController;
  expiry?: ReturnType<typeof setTimeout>;
}

/** What the plugin host needs from the agent around it. */
export interface PluginHostOptions {
  registry: PluginRegistry;
  /** The plugins to run and the tp.yaml entries each claimed (core/plugin/entries.ts). */
  entries: Map<string, unknown[]>;
  /** The context every plugin gets (`dataDir` is the agent's: a plugin keeps its files in a subdirectory of its name). */
  context: AgentPluginContext;
  /** The cluster's TLS CAs now (user certificates on streams are checked against them). */
  tlsCa(): string[];
}

/**
 * Runs the agent side of every plugin this agent serves and hands each proxy stream to the plugin its header names.
 * For plugins that are not end to end it verifies the user's certificate itself (cluster CA, clock), refuses a
 * resource the plugin does not serve or a lock that covers the user or the resource, and ends the session (its
 * signal) when the certificate expires, a lock lands, or the agent stops.
 */
export class PluginHost {
  private readonly sessions = new Set<LiveSession>();
  private streams = 0;

  private constructor(
    private readonly o: PluginHostOptions,
    private readonly running: Map<string, { def: PluginDefinition<never>; agent: AgentPlugin }>,
  ) {}

  /** Starts each plugin's agent side; one that fails to start stops the ones already started and throws. */
  static async start(o: PluginHostOptions): Promise<PluginHost> {
    const running = new Map<string, { def: PluginDefinition<never>; agent: AgentPlugin }>();
    try {
      for (const [name, entries] of o.entries) {
        const def = o.registry.get(name);
        if (!def?.agent) continue;
        const agent = await def.agent(o.context, entries as never[]);
        running.set(name, { def, agent });
      }
    } catch (err) {
      for (const r of running.values()) await r.agent.close();
      throw err;
    }
    const host = new PluginHost(o, running);
    o.context.state.onChange((kinds) => {
      if (kinds.has('lock')) host.enforceLocks();
    });
    return host;
  }

  /** Every plugin's resources, as the heartbeat announces them. */
  resources(): HeartbeatResource[] {
    const out: HeartbeatResource[] = [];
    for (const [plugin, r] of this.running)
      for (const res of r.agent.resources()) out.push({ kind: r.def.kind, plugin, ...res });
    return out;
  }

  /** Streams open now (every plugin's). */
  get openStreams(): number {
    return this.streams;
  }

  /** Reads a proxy stream's header and serves it with its plugin; a stream that may not be served is refused. */
  async serve(stream: Duplex): Promise<void> {
    this.streams++;
    stream.once('close', () => this.streams--);
    let h: AgentStreamHeader | undefined;
    let live: LiveSession | undefined;
    try {
      h = await readHeader(stream, AgentStreamHeaderSchema, HEADER_LIMIT);
      const r = this.running.get(h.service);
      if (!r) throw new NotFound(`this agent serves no plugin "${h.service}"`);
      live = this.admit(r.def, r.agent, h);
    } catch (err) {
      this.refuse(stream, h, err);
      return;
    }
    const r = this.running.get(h.service)!;
    const session: PluginSession = {
      id: h.sessionId ?? this.o.context.ids.uuid(),
      user: live.user,
      resource: live.resource,
      route: h.route ?? {},
      client: h.client,
      signal: live.controller.signal,
    };
    try {
      r.agent.admit?.(session);
    } catch (err) {
      this.sessions.delete(live);
      clearTimeout(live.expiry);
      this.refuse(stream, h, err, live.user?.name);
      return;
    }
    live.controller.signal.addEventListener('abort', () => setTimeout(() => stream.destroy(), ABORT_GRACE_MS).unref());
    // The proxy waits for this before it answers its client: a refusal above reaches the client typed.
    if (!r.def.endToEnd) writeHeader(stream, { ok: true } satisfies AgentAck);
    stream.resume();
    try {
      await r.agent.serve(stream, session);
    } catch (err) {
      log.warn('plugin session failed', { plugin: r.def.name, error: describe(err) });
    } finally {
      this.sessions.delete(live);
      clearTimeout(live.expiry);
      stream.destroy();
    }
  }

  /** Checks a stream may be served and tracks it: user certificate, resource, locks (not for end-to-end plugins). */
  private admit(def: PluginDefinition<never>, agent: AgentPlugin, h: AgentStreamHeader): LiveSession {
    const live: LiveSession = { plugin: def, resource: h.resource ?? '', controller: new AbortController() };
    if (!def.endToEnd) {
      const now = this.o.context.clock.now();
      live.user = verifyStreamUser(h.cert, this.o.tlsCa(), now, { kind: def.kind, resource: h.resource ?? '' });
      if (!agent.resources().some((res) => res.name === h.resource))
        throw new NotFound(`this agent serves no ${def.kind} "${h.resource ?? ''}"`);
      const lock = this.lockOn(live);
      if (lock) throw lock;
      live.expiry = setTimeout(
        () => live.controller.abort(new Unauthenticated(`the certificate of user "${live.user?.name}" expired`)),
        Math.max(0, live.user.expires - now),
      );
    }
    this.sessions.add(live);
    return live;
  }

  /** The lock refusal covering a session's user, bot instance or resource, if any. */
  private lockOn(s: LiveSession): TpError | undefined {
    const locks = this.o.context.state.locks();
    const u = s.user!;
    const onUser = locks.find((l) => lockApplies(l, { user: u.name, botInstance: u.botInstance }));
    if (onUser) return lockedError(`user "${u.name}"`, onUser);
    const resource = `${s.plugin.kind}/${s.resource}`;
    const onResource = locks.find((l) => lockApplies(l, { resource }));
    return onResource ? lockedError(`${s.plugin.kind} "${s.resource}"`, onResource) : undefined;
  }

  /** Aborts every session a lock now covers (called when the replica's locks change). */
  enforceLocks(): number {
    let ended = 0;
    for (const s of this.sessions) {
      if (!s.user || s.controller.signal.aborted) continue;
      const lock = this.lockOn(s);
      if (!lock) continue;
      log.info('lock applies: ending plugin session', { plugin: s.plugin.name, user: s.user.name });
      s.controller.abort(lock);
      ended++;
    }
    return ended;
  }

  /**
   * Answers a refused stream with one error line, audits it (non-end-to-end plugins; as the user the certificate
   * proved, once it was verified) and closes it.
   */
  private refuse(stream: Duplex, h: AgentStreamHeader | undefined, err: unknown, verifiedUser?: string): void {
    const e = err instanceof TpError ? err : new TpError('internal agent error');
    if (!(err instanceof TpError)) log.error('plugin stream failed', { error: describe(err) });
    else log.warn('plugin stream refused', { service: h?.service, error: e.message });
    const def = h ? this.running.get(h.service)?.def : undefined;
    if (h && def && !def.endToEnd)
      this.o.context.emit([
        accessRefusal(
          { kind: def.kind, via: 'node', user: verifiedUser ?? h.user, target: h.resource ?? '', remote: h.client },
          e.message,
        ),
      ]);
    writeHeader(stream, { ok: false, error: { code: e.code, message: e.message } } satisfies AgentAck);
    stream.end();
  }

  /** Ends every session (their signals abort) and stops every plugin. */
  async close(): Promise<void> {
    for (const s of this.sessions) s.controller.abort(new TpError('the agent is shutting down'));
    for (const r of this.running.values()) await r.agent.close();
  }
}
