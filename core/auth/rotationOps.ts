import type { Backend } from '../backend/index.ts';
import type { Clock } from '../clock.ts';
import { AccessDenied, BadParameter, CompareFailed, Conflict } from '../errors.ts';
import type { RotationPhase } from '../identity/rotationPhase.ts';
import type { IdSource } from '../ids.ts';
import { log } from '../log.ts';
import type { Authorizer, Emit } from './authorizer.ts';
import type { CaSet } from './caSet.ts';
import type { CaType } from './cas.ts';
import type { Identity } from './identity.ts';
import type { NodeStore } from './nodes.ts';
import {
  caughtUp,
  checkNext,
  NEXT_PHASE,
  newRotationId,
  type RotationReport,
  type RotationState,
  RotationStore,
  type TrackedServer,
} from './rotation.ts';
import { describeRotation, type RotationStatus } from './rotationStatus.ts';

export type { RotationStatus, ServerProgress } from './rotationStatus.ts';

/** Options of `tp rotate start`. */
export interface StartRotation {
  types: CaType[];
  mode: 'auto' | 'manual';
  graceMs: number;
  timeoutMs: number;
}

const PROXY_LIVE_MS = 90_000;

/** What rotation reads and writes; `cas` is this server's loaded CA set, reloaded as phases change. */
export interface RotationOpsDeps {
  authz: Authorizer;
  emit: Emit;
  backend: Backend;
  clock: Clock;
  cluster: string;
  cas: CaSet;
  nodes: Pick<NodeStore, 'list'>;
  ids: IdSource;
}

/** `tp rotate`: starts, advances and rolls back CA rotations; collects servers' reports; advances automatic mode. */
export class RotationOps {
  readonly store: RotationStore;
  /** Revision of the state this server last applied to the CAs. */
  private applied = -1;

  constructor(private readonly d: RotationOpsDeps) {
    this.store = new RotationStore(d.backend);
  }

  private now(): number {
    return this.d.clock.now();
  }

  /** The rotation's ID and phase: what servers need to follow it. */
  async brief(): Promise<{ id: string; phase: RotationPhase }> {
    const { state } = await this.store.get();
    return { id: state.id, phase: state.phase };
  }

  /** The state, the CAs' keys and each tracked server's progress. */
  async status(who: Identity): Promise<RotationStatus> {
    await this.d.authz.authorize(who, 'cluster', 'read');
    const { state } = await this.store.get();
    return describeRotation(state, await this.store.reports(), this.d.cas, this.now());
  }

  /** Starts a rotation of `types`; refused while another one runs. */
  async start(who: Identity, o: StartRotation): Promise<RotationState> {
    await this.d.authz.authorize(who, 'cluster', 'update');
    if (o.types.length === 0)
      throw new BadParameter('nothing to rotate: give --type user, host, tls, db, db_client, jwt or all');
    const { state, revision } = await this.store.get();
    if (state.phase !== 'standby')
      throw new BadParameter(
        `a rotation of ${state.types.join(', ')} is already in phase ${state.phase}: finish it (tp rotate status) or roll it back (tp rotate rollback)`,
      );
    const now = this.now();
    const next: RotationState = {
      id: newRotationId(this.d.ids),
      phase: 'init',
      types: o.types,
      mode: o.mode,
      started: now,
      phaseSince: now,
      graceMs: o.graceMs,
      timeoutMs: o.timeoutMs,
      servers: await this.liveServers(now),
      last: state.last,
    };
    await this.store.swap(revision, next);
    await this.sync();
    await this.d.emit({
      type: 'rotation.start',
      user: who.name,
      rotation_id: next.id,
      ca_types: o.types,
      mode: o.mode,
    });
    log.info('CA rotation started', { id: next.id, types: o.types, mode: o.mode });
    return next;
  }

  /** Agents with a live heartbeat and proxies that reported lately: who automatic mode will wait for. */
  private async liveServers(now: number): Promise<TrackedServer[]> {
    const nodes = (await this.d.nodes.list()).filter((n) => !n.agentless);
    const proxies = [...(await this.store.reports()).values()].filter(
      (r) => r.kind === 'proxy' && now - r.at < PROXY_LIVE_MS,
    );
    return [
      ...proxies.map((p) => ({ id: p.id, kind: 'proxy' as const, name: p.name })),
      ...nodes.map((n) => ({ id: n.hostId, kind: 'node' as const, name: n.name })),
    ];
  }

  /** Moves to `phase`, which must be the next one (or `rollback`); manual mode's step, and automatic mode's too. */
  async setPhase(who: Identity, phase: RotationPhase, o: { force?: boolean } = {}): Promise<RotationState> {
    await this.d.authz.authorize(who, 'cluster', 'update');
    const { state, revision } = await this.store.get();
    checkNext(state, phase);
    // Rollback is the way out for servers that are behind, so it is never held back.
    const behind = phase === 'rollback' ? [] : await this.behind(state);
    if (behind.length && !o.force)
      throw new Conflict(
        `${behind.length} server(s) have not taken on phase ${state.phase} yet: ${behind.join(', ')}. Moving on ` +
          'now may leave them with certificates no one trusts: wait for them (`tp rotate status`), bring them back, ' +
          '`tp rotate rollback`, or advance anyway with --force',
        { behind },
      );
    if (behind.length) log.warn('CA rotation advanced by hand past servers that are behind', { phase, behind });
    return this.transition(state, revision, phase, who.name, behind.length ? { forced_past: behind } : {});
  }

  /** The tracked servers that have not reported the current phase, as `kind name`. */
  private async behind(state: RotationState): Promise<string[]> {
    const reports = await this.store.reports();
    return state.servers.filter((t) => !caughtUp(state, reports.get(t.id))).map((t) => `${t.kind} ${t.name}`);
  }

  /** Rolls the running rotation back: the old CAs sign again, servers get certificates from them again. */
  async rollback(who: Identity): Promise<RotationState> {
    await this.d.authz.authorize(who, 'cluster', 'update');
    const { state, revision } = await this.store.get();
    if (state.phase === 'standby') throw new BadParameter('no rotation is running: nothing to roll back');
    if (state.phase === 'rollback') throw new BadParameter('the rotation is already rolling back');
    return this.transition(state, revision, 'rollback', who.name);
  }

  private async transition(
    state: RotationState,
    revision: number,
    phase: RotationPhase,
    by: string,
    extra: Record<string, unknown> = {},
  ): Promise<RotationState> {
    checkNext(state, phase);
    const now = this.now();
    const next: RotationState = { ...state, phase, phaseSince: now, stalled: undefined };
    if (phase === 'standby')
      next.last = {
        id: state.id,
        result: state.phase === 'rollback' ? 'rolled_back' : 'completed',
        at: now,
        types: state.types,
      };
    await this.store.swap(revision, next);
    await this.sync();
    const type =
      phase === 'rollback' ? 'rotation.rollback' : phase === 'standby' ? 'rotation.complete' : 'rotation.phase';
    await this.d.emit({
      type,
      user: by,
      rotation_id: state.id,
      phase,
      from: state.phase,
      ca_types: state.types,
      result: phase === 'standby' ? next.last?.result : undefined,
      ...extra,
    });
    log.info('CA rotation phase', { id: state.id, from: state.phase, to: phase });
    return next;
  }

  /** A node or proxy says it holds the CAs and certificates of `phase` (its identity comes from its certificate). */
  async report(who: Identity, r: { rotationId: string; phase: RotationPhase; name: string }): Promise<void> {
    if (who.kind !== 'node' && who.kind !== 'proxy') throw new AccessDenied('only nodes and proxies report rotation');
    if (r.rotationId !== '' && r.rotationId !== (await this.store.get()).state.id) return; // a stale report
    const report: RotationReport = { ...r, id: who.name, kind: who.kind, at: this.now() };
    await this.store.report(report);
  }

  /**
   * Applies the stored state to the CAs and reloads them when they changed. Every auth server runs this on each
   * tick, so all of them sign and trust the same keys within a tick of a transition made anywhere.
   */
  async sync(): Promise<{ state: RotationState; revision: number }> {
    const read = await this.store.get();
    if (read.revision !== this.applied) {
      await this.store.applyToCas(read.state, this.now());
      await this.d.cas.reload();
      this.applied = read.revision;
    }
    return read;
  }

  /** One step of automatic mode: advance when every tracked server caught up (and grace passed), else watch for stalls. */
  async tick(): Promise<void> {
    const { state, revision } = await this.sync();
    if (state.phase === 'standby' || state.mode !== 'auto') return;
    const reports = await this.store.reports();
    const behind = state.servers.filter((t) => !caughtUp(state, reports.get(t.id)));
    const now = this.now();
    if (behind.length === 0) {
      if (state.phase === 'update_servers' && now < state.started + state.graceMs) return;
      const next = NEXT_PHASE[state.phase]!;
      try {
        await this.transition(state, revision, next, 'auto');
      } catch (err) {
        if (!(err instanceof CompareFailed)) throw err;
      }
      return;
    }
    if (!state.stalled && now - state.phaseSince > state.timeoutMs) {
      const waiting = behind.map((t) => `${t.kind} ${t.name} (${t.id})`);
      try {
        await this.store.swap(revision, { ...state, stalled: { since: now, waiting } });
      } catch (err) {
        if (!(err instanceof CompareFailed)) throw err;
        return;
      }
      await this.d.emit({
        type: 'rotation.stalled',
        success: false,
        user: 'auto',
        rotation_id: state.id,
        phase: state.phase,
        error: `waited ${Math.round(state.timeoutMs / 1000)}s in ${state.phase} for ${waiting.join(', ')}`,
      });
      log.warn('CA rotation stalled: not advancing', { phase: state.phase, waiting });
    }
  }
}
